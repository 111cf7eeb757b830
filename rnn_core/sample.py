"""Generating text: temperature, top-k, top-p (nucleus) and greedy decoding."""

import math

import numpy as np

from .model import check_positive_int


def check_sampling(temperature=1.0, top_k=None, top_p=None):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"the temperature must be a number above 0, not {temperature!r} (use greedy for the most likely character)")
    if top_k is not None:
        check_positive_int("top_k", top_k)
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1):
        raise ValueError(f"top_p must be above 0 and at most 1, not {top_p!r}")


def shape_distribution(probs, temperature=1.0, top_k=None, top_p=None):
    """(V,) probabilities -> (V,) float64 probabilities after temperature, top-k and top-p.

    Temperature rescales the log-probabilities; top-k keeps the k most likely characters; top-p
    keeps the fewest most likely characters whose probabilities add up to at least p.
    """
    check_sampling(temperature, top_k, top_p)
    with np.errstate(divide="ignore"):
        logits = np.log(np.asarray(probs, np.float64)) / temperature
    shaped = np.exp(logits - logits.max())
    shaped /= shaped.sum()
    order = np.argsort(-shaped, kind="stable")  # most likely first
    keep = len(shaped)
    if top_k is not None:
        keep = min(keep, top_k)
    if top_p is not None:
        keep = min(keep, int(np.searchsorted(np.cumsum(shaped[order]), top_p * (1 - 1e-12))) + 1)
    shaped[order[keep:]] = 0
    return shaped / shaped.sum()


def _prime_ids(vocab, prime, rng):
    if prime:
        return vocab.encode(prime)
    # With no prime, start from a character drawn uniformly (as min-char-rnn does); it is output too.
    return np.array([rng.integers(len(vocab))], dtype=np.int32)


def sample_steps(model, vocab, prime="", length=200, temperature=1.0, top_k=None, top_p=None, greedy=False, seed=None):
    """An iterator of (character, probs (V,)) for each new character; probs is the distribution it was drawn from.

    Every character of `prime` is fed through the model first. With an empty prime the first
    character is drawn uniformly from the vocabulary and yielded with uniform probabilities.
    Bad options and unknown prime characters raise here, before any character is produced.
    """
    check_sampling(temperature, top_k, top_p)
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ValueError(f"the length must be a whole number of at least 0, not {length!r}")
    rng = np.random.default_rng(seed)
    ids = _prime_ids(vocab, prime, rng)
    return _steps(model, vocab, ids, bool(prime), int(length), temperature, top_k, top_p, greedy, rng)


def _steps(model, vocab, ids, primed, length, temperature, top_k, top_p, greedy, rng):
    if not primed and length > 0:
        length -= 1
        yield vocab.chars[ids[0]], np.full(len(vocab), 1 / len(vocab))
    if length == 0:
        return
    result = model.forward(ids[None, :])
    probs, state = result.probs[0, -1], result.state
    for _ in range(length):
        if greedy:
            shaped = np.zeros(len(vocab))
            shaped[int(np.argmax(probs))] = 1
        else:
            shaped = shape_distribution(probs, temperature, top_k, top_p)
        next_id = min(int(np.searchsorted(np.cumsum(shaped), rng.random(), side="right")), len(vocab) - 1)
        while shaped[next_id] == 0:  # rounding at the top of the cumulative sum
            next_id -= 1
        yield vocab.chars[next_id], shaped
        result = model.forward(np.array([[next_id]]), state)
        probs, state = result.probs[0, -1], result.state


def sample_stream(model, vocab, prime="", length=200, **options):
    """An iterator of the new characters, one at a time (for streaming); options as in sample_steps."""
    return (char for char, _ in sample_steps(model, vocab, prime, length, **options))


def sample(model, vocab, prime="", length=200, **options):
    """The `length` new characters that follow `prime` (the prime itself is not included)."""
    return "".join(sample_stream(model, vocab, prime, length, **options))


def sample_with_probs(model, vocab, prime="", length=200, **options):
    """(new text, (length, V) distribution each character was drawn from)."""
    steps = list(sample_steps(model, vocab, prime, length, **options))
    probs = np.array([p for _, p in steps]).reshape(len(steps), len(vocab))
    return "".join(c for c, _ in steps), probs


def next_char_probs(model, vocab, prime, temperature=1.0, top_k=None, top_p=None):
    """(V,) distribution of the character after `prime` (non-empty), shaped like sampling would."""
    if not prime:
        raise ValueError("the prime must hold at least one character")
    probs = model.forward(vocab.encode(prime)[None, :]).probs[0, -1]
    return shape_distribution(probs, temperature, top_k, top_p)
