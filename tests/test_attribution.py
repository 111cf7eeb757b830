import numpy as np
import pytest

from rnn_core import CharRNN
from rnn_core.attribution import input_attribution

IDS = np.array([3, 8, 1, 4, 0, 5, 9, 2, 6, 7, 3])  # every window below holds each id once


def log_probability(model, window, target):
    return float(np.log(model.forward(window[None, :]).probs[0, -1, target]))


def numerical_norms(model, ids, start, position, epsilon=1e-5):
    """Central differences of log p(ids[position + 1]) in every component of each input's row of Wx0."""
    window, target = ids[start : position + 1], ids[position + 1]
    norms = []
    for s in range(start, position + 1):
        row = model.params["Wx0"][ids[s]]  # a view: editing it edits the model
        gradient = np.empty(row.size)
        for j in range(row.size):
            saved = row[j]
            row[j] = saved + epsilon
            up = log_probability(model, window, target)
            row[j] = saved - epsilon
            down = log_probability(model, window, target)
            row[j] = saved
            gradient[j] = (up - down) / (2 * epsilon)
        norms.append(np.linalg.norm(gradient))
    return np.array(norms)


def float64_model(cell, num_layers, bptt_horizon=None):
    model = CharRNN(10, 5, cell, num_layers=num_layers, seed=4, dtype=np.float64, bptt_horizon=bptt_horizon)
    rng = np.random.default_rng(5)
    for array in model.params.values():
        array[...] = rng.normal(0, 0.6, array.shape)  # larger than the initial weights: more varied gradients
    return model


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_norms_match_numerical_gradients(cell, num_layers):
    model = float64_model(cell, num_layers)
    result = input_attribution(model, IDS, 6, lookback=6)  # reads ids 1..6
    assert list(result.positions) == [1, 2, 3, 4, 5, 6]
    assert result.target == IDS[7]
    assert result.probability == pytest.approx(np.exp(log_probability(model, IDS[1:7], IDS[7])), rel=1e-12)
    expected = numerical_norms(model, IDS, 1, 6)
    assert np.all(expected > 1e-6)
    np.testing.assert_allclose(result.norms, expected, rtol=1e-6)


def test_the_whole_text_is_read_when_lookback_reaches_its_start():
    model = float64_model("gru", 1)
    result = input_attribution(model, IDS, 4, lookback=100)
    assert list(result.positions) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(result.norms, numerical_norms(model, IDS, 0, 4), rtol=1e-6)


def test_a_training_horizon_does_not_cut_the_gradient_short():
    model = float64_model("lstm", 2, bptt_horizon=2)
    result = input_attribution(model, IDS, 8, lookback=7)  # 7 steps, far beyond the horizon of 2
    assert model.bptt_horizon == 2
    np.testing.assert_allclose(result.norms, numerical_norms(model, IDS, 2, 8), rtol=1e-6)


def test_float32_models_agree_with_float64():
    model = float64_model("gru", 2)
    single = CharRNN(10, 5, "gru", num_layers=2, dtype=np.float32)
    single.flat_params[...] = model.flat_params
    np.testing.assert_allclose(input_attribution(single, IDS, 9, 8).norms, input_attribution(model, IDS, 9, 8).norms, rtol=1e-4)


@pytest.mark.parametrize(
    "ids,position,lookback,match",
    [
        (IDS, len(IDS) - 1, 10, "needs a next character"),
        (IDS, -1, 10, "position"),
        (IDS, 2.0, 10, "position"),
        (IDS, 3, 0, "lookback"),
        (IDS[:1], 0, 10, "at least 2"),
        (np.array([1, 2, 42]), 1, 10, "outside"),
    ],
)
def test_bad_input_raises_clearly(ids, position, lookback, match):
    with pytest.raises(ValueError, match=match):
        input_attribution(float64_model("rnn", 1), ids, position, lookback)
