import math
import time

import numpy as np
import pytest

from rnn_core.baselines import ngram_baselines


def test_hand_computed_bits_on_a_tiny_text():
    # train "ababc", evaluate "abc", with a = 0, b = 1, c = 2 and V = 3
    # unigram counts a 2, b 2, c 1 of 5: p = (count + 1) / 8 -> a 3/8, b 3/8, c 2/8
    # pairs ab 2, ba 1, bc 1; a and b are each followed by something twice:
    # p(b | a) = (2 + 1) / (2 + 3) = 3/5, p(c | b) = (1 + 1) / (2 + 3) = 2/5; the first "a" by the unigram, 3/8
    result = ngram_baselines(np.array([0, 1, 0, 1, 2]), np.array([0, 1, 2]), 3)
    assert result.uniform == pytest.approx(math.log2(3))
    assert result.unigram == pytest.approx(-(math.log2(3 / 8) + math.log2(3 / 8) + math.log2(2 / 8)) / 3)
    assert result.bigram == pytest.approx(-(math.log2(3 / 8) + math.log2(3 / 5) + math.log2(2 / 5)) / 3)
    assert (result.uniform, result.unigram, result.bigram) == pytest.approx((1.584963, 1.610025, 1.157977), abs=1e-6)


def test_unseen_characters_and_pairs_cost_finite_bits():
    # c never occurs in training: unigram 1 / (4 + 3); the pair "ac" never either: 1 / (2 + 3)
    result = ngram_baselines(np.array([0, 1, 0, 1]), np.array([0, 2]), 3)
    assert result.unigram == pytest.approx(-(math.log2(3 / 7) + math.log2(1 / 7)) / 2)
    assert result.bigram == pytest.approx(-(math.log2(3 / 7) + math.log2(1 / 5)) / 2)


def test_a_repetitive_text_is_cheap_for_the_bigram_only():
    train = np.tile(np.arange(10), 500)  # 0 1 2 ... 9 0 1 ...: letters equally frequent, each next one certain
    result = ngram_baselines(train, train[:200], 10)
    assert result.unigram == pytest.approx(math.log2(10), abs=1e-3)
    assert result.bigram < 0.1


def test_a_single_character_evaluation_is_scored_by_the_unigram():
    result = ngram_baselines(np.array([0, 0, 1]), np.array([1]), 2)
    assert result.bigram == result.unigram == pytest.approx(-math.log2(2 / 5))


def test_an_empty_training_part_gives_the_uniform_model():
    result = ngram_baselines(np.array([], int), np.array([0, 3, 3]), 4)
    assert result.uniform == result.unigram == result.bigram == pytest.approx(2.0)


@pytest.mark.parametrize(
    "train,evaluate,vocab_size,match",
    [
        ([0, 1], [], 2, "no text"),
        ([0, 5], [0], 2, "outside 0..1"),
        ([0, 1], [[0]], 2, "1-D"),
        ([0, 1], [0.5], 2, "1-D"),
        ([0, 1], [0], 0, "vocab_size"),
    ],
)
def test_bad_input_raises_clearly(train, evaluate, vocab_size, match):
    with pytest.raises(ValueError, match=match):
        ngram_baselines(np.array(train), np.array(evaluate), vocab_size)


def test_a_megabyte_takes_well_under_a_second():
    ids = np.random.default_rng(0).integers(0, 65, 1_000_000)
    started = time.perf_counter()
    ngram_baselines(ids[:900_000], ids[900_000:], 65)
    assert time.perf_counter() - started < 0.5
