import math

import numpy as np
import pytest

from rnn_core import CharRNN
from rnn_core.projection import char_class, embedding_map, hidden_map, pca_2d


def test_points_on_a_line_lie_on_the_first_axis():
    # (1, 2) t + (5, 5) for t = -1, 0, 1: all variance along (1, 2) / sqrt(5), at distances t sqrt(5)
    points = np.array([[4.0, 3.0], [5.0, 5.0], [6.0, 7.0]])
    coords, explained = pca_2d(points)
    np.testing.assert_allclose(explained, [1, 0], atol=1e-12)
    np.testing.assert_allclose(coords, [[-math.sqrt(5), 0], [0, 0], [math.sqrt(5), 0]], atol=1e-12)


def test_a_cross_has_known_variance_ratios():
    # arms of half-length 3 along (1, 1, 0) / sqrt(2) and 1 along z: squared spreads 18 and 2 of 20
    a = np.array([1.0, 1.0, 0.0]) / math.sqrt(2)
    z = np.array([0.0, 0.0, 1.0])
    points = np.array([3 * a, -3 * a, z, -z]) + 10
    coords, explained = pca_2d(points)
    np.testing.assert_allclose(explained, [0.9, 0.1], atol=1e-12)
    np.testing.assert_allclose(np.abs(coords), [[3, 0], [3, 0], [0, 1], [0, 1]], atol=1e-12)


def test_signs_are_fixed_by_the_largest_loading():
    points = np.random.default_rng(0).normal(size=(50, 6)) * [5, 4, 3, 2, 1, 0.5]
    coords, _ = pca_2d(points)
    axes = np.linalg.lstsq(points - points.mean(0), coords, rcond=None)[0].T  # (2, D) the axes used
    assert np.all(axes[np.arange(2), np.abs(axes).argmax(1)] > 0)
    order = np.random.default_rng(1).permutation(50)
    np.testing.assert_allclose(pca_2d(points[order])[0], coords[order], atol=1e-10)  # the same picture
    np.testing.assert_allclose(pca_2d(-points)[0], -coords, atol=1e-10)


def test_degenerate_inputs_give_zero_axes():
    coords, explained = pca_2d(np.array([[1.0, 2.0]] * 4))
    np.testing.assert_array_equal(coords, np.zeros((4, 2)))
    np.testing.assert_array_equal(explained, [0, 0])
    coords, explained = pca_2d(np.array([[1.0], [3.0]]))  # one dimension: no second axis
    np.testing.assert_allclose(coords, [[-1, 0], [1, 0]])
    np.testing.assert_allclose(explained, [1, 0])


@pytest.mark.parametrize("points", [np.zeros((0, 3)), np.zeros(4), np.array([[1.0, np.nan]])])
def test_bad_points_raise(points):
    with pytest.raises(ValueError, match="points"):
        pca_2d(points)


@pytest.mark.parametrize("cell,gates", [("rnn", 1), ("gru", 3)])
def test_embedding_map_projects_the_rows_of_the_first_input_matrix(cell, gates):
    model = CharRNN(9, 7, cell, num_layers=2)
    coords, explained = embedding_map(model)
    assert model.params["Wx0"].shape == (9, gates * 7)
    assert coords.shape == (9, 2) and explained.shape == (2,)
    np.testing.assert_allclose(coords, pca_2d(model.params["Wx0"])[0])
    assert 0 < explained[1] <= explained[0] and explained.sum() < 1


def test_hidden_map_reads_the_start_of_the_text_in_chunks_carrying_the_state():
    model = CharRNN(6, 8, "lstm", num_layers=2, dtype=np.float64)
    ids = np.random.default_rng(0).integers(0, 6, 3000)
    result = hidden_map(model, ids, max_positions=2500)  # three chunks of up to 1024 steps
    assert result.coords.shape == (2500, 2) and list(result.positions) == list(range(2500))
    hidden = model.forward(ids[None, :2500]).hidden[-1, 0]  # (T, H) in one pass
    np.testing.assert_allclose(result.coords, pca_2d(hidden)[0], atol=1e-9)
    np.testing.assert_allclose(result.explained, pca_2d(hidden)[1], atol=1e-12)


def test_hidden_map_of_a_short_text_uses_every_position():
    result = hidden_map(CharRNN(4, 5, "gru"), np.array([0, 1, 2, 3, 2]))
    assert result.coords.shape == (5, 2) and list(result.positions) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("ids,max_positions,match", [(np.array([], int), 10, "non-empty"), (np.array([0, 1]), 0, "max_positions"), (np.array([0, 9]), 10, "outside")])
def test_hidden_map_bad_input_raises(ids, max_positions, match):
    with pytest.raises(ValueError, match=match):
        hidden_map(CharRNN(4, 5), ids, max_positions)


@pytest.mark.parametrize(
    "chars,expected",
    [
        ("aeiouAEIOU", "vowel"),
        ("éÉàôüÜîõ", "vowel"),
        ("bcdyzBXYçñŠ", "consonant"),
        ("0123456789٣", "digit"),
        (" \n\t\u00a0", "space"),
        (".,;:!?'\"()-«»¿", "punctuation"),
        ("$+<=>^`|~", "punctuation"),
        ("ßøαд👋∑\x00", "other"),
    ],
)
def test_char_classes(chars, expected):
    assert [char_class(c) for c in chars] == [expected] * len(chars)


@pytest.mark.parametrize("value", ["", "ab", 7])
def test_char_class_takes_one_character(value):
    with pytest.raises(ValueError, match="single character"):
        char_class(value)
