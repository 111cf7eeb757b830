import numpy as np
import pytest

from rnn_core import CharRNN, UnknownCharactersError, Vocab, next_char_probs, sample, sample_stream, sample_with_probs, shape_distribution


@pytest.fixture
def model_and_vocab():
    vocab = Vocab.from_text("abcdefgh")
    model = CharRNN(len(vocab), 12, "lstm", seed=1)
    for array in model.params.values():
        array *= 4  # sharper, more varied distributions than a fresh model's
    return model, vocab


def test_greedy_takes_the_argmax_at_every_step(model_and_vocab):
    model, vocab = model_and_vocab
    text = sample(model, vocab, "abc", 10, greedy=True)
    full = "abc"
    for char in text:
        probs = model.forward(vocab.encode(full)[None, :]).probs[0, -1]
        assert char == vocab.chars[int(np.argmax(probs))]
        full += char


def test_seed_reproduces_and_different_seeds_differ(model_and_vocab):
    model, vocab = model_and_vocab
    first = sample(model, vocab, "ab", 60, seed=7)
    assert first == sample(model, vocab, "ab", 60, seed=7)
    assert len(first) == 60 and set(first) <= set(vocab.chars)
    assert any(sample(model, vocab, "ab", 60, seed=s) != first for s in range(8, 12))


def test_stream_yields_the_same_characters_one_at_a_time(model_and_vocab):
    model, vocab = model_and_vocab
    stream = sample_stream(model, vocab, "a", 15, seed=3)
    chars = [next(stream) for _ in range(15)]
    assert "".join(chars) == sample(model, vocab, "a", 15, seed=3)
    with pytest.raises(StopIteration):
        next(stream)


def test_long_prime_is_fed_through_the_model(model_and_vocab):
    model, vocab = model_and_vocab
    prime = "abcdefgh" * 10
    text, probs = sample_with_probs(model, vocab, prime, 1, greedy=True)
    expected = model.forward(vocab.encode(prime)[None, :]).probs[0, -1]
    assert text == vocab.chars[int(np.argmax(expected))]
    assert probs.shape == (1, len(vocab))


def test_sample_with_probs_gives_the_distribution_each_char_came_from(model_and_vocab):
    model, vocab = model_and_vocab
    text, probs = sample_with_probs(model, vocab, "ab", 20, temperature=0.7, top_k=3, seed=0)
    assert probs.shape == (20, len(vocab))
    np.testing.assert_allclose(probs.sum(1), 1)
    assert np.all((probs > 0).sum(1) <= 3)
    for char, p in zip(text, probs):
        assert p[vocab.index[char]] > 0
    assert sample(model, vocab, "ab", 20, temperature=0.7, top_k=3, seed=0) == text


def test_temperature_sharpens_and_flattens():
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    cold, hot = shape_distribution(probs, 0.5), shape_distribution(probs, 2.0)
    np.testing.assert_allclose(shape_distribution(probs, 1.0), probs)
    assert cold[0] > probs[0] > hot[0]
    assert hot[3] > probs[3] > cold[3]
    np.testing.assert_allclose(cold, probs**2 / (probs**2).sum())


def test_top_k_and_top_p_keep_the_most_likely():
    probs = np.array([0.05, 0.5, 0.15, 0.3])
    np.testing.assert_allclose(shape_distribution(probs, top_k=2), [0, 0.5 / 0.8, 0, 0.3 / 0.8])
    np.testing.assert_allclose(shape_distribution(probs, top_p=0.75), [0, 0.5 / 0.8, 0, 0.3 / 0.8])
    np.testing.assert_allclose(shape_distribution(probs, top_p=0.8), [0, 0.5 / 0.8, 0, 0.3 / 0.8])
    np.testing.assert_allclose(shape_distribution(probs, top_p=0.81), [0, 0.5 / 0.95, 0.15 / 0.95, 0.3 / 0.95])
    np.testing.assert_allclose(shape_distribution(probs, top_p=0.01), [0, 1, 0, 0])
    np.testing.assert_allclose(shape_distribution(probs, top_p=1.0), probs)


def test_sampled_frequencies_follow_the_shaped_distribution(model_and_vocab):
    model, vocab = model_and_vocab
    expected = next_char_probs(model, vocab, "abc", temperature=1.5, top_p=0.9)
    counts = np.zeros(len(vocab))
    for seed in range(1500):
        counts[vocab.index[sample(model, vocab, "abc", 1, temperature=1.5, top_p=0.9, seed=seed)]] += 1
    np.testing.assert_allclose(counts / counts.sum(), expected, atol=0.04)
    assert np.all(counts[expected == 0] == 0)


def test_empty_prime_starts_from_a_random_character(model_and_vocab):
    model, vocab = model_and_vocab
    text = sample(model, vocab, "", 10, seed=1)
    assert len(text) == 10 and text == sample(model, vocab, "", 10, seed=1)
    assert sample(model, vocab, "a", 0) == ""


@pytest.mark.parametrize(
    "options,error,match",
    [
        ({"prime": "xyz"}, UnknownCharactersError, "'x'"),
        ({"temperature": 0}, ValueError, "temperature"),
        ({"temperature": -1.0}, ValueError, "temperature"),
        ({"temperature": float("nan")}, ValueError, "temperature"),
        ({"top_p": 0}, ValueError, "top_p"),
        ({"top_p": 1.5}, ValueError, "top_p"),
        ({"top_k": 0}, ValueError, "top_k"),
        ({"length": -1}, ValueError, "length"),
    ],
)
def test_bad_sampling_options_raise_before_any_output(model_and_vocab, options, error, match):
    model, vocab = model_and_vocab
    arguments = {"prime": "ab", "length": 5, **options}
    with pytest.raises(error, match=match):
        sample_stream(model, vocab, arguments.pop("prime"), arguments.pop("length"), **arguments)
