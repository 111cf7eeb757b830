"""Generating text: temperature, top-k, top-p (nucleus) and greedy decoding.

Each character is chosen by the computation `explain_choice` lays out, so the table a page shows
for it is the very one that chose it.
"""

import math
from dataclasses import dataclass

import numpy as np

from .model import check_positive_int


def check_sampling(temperature=1.0, top_k=None, top_p=None):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"the temperature must be a number above 0, not {temperature!r} (use greedy for the most likely character)")
    if top_k is not None:
        check_positive_int("top_k", top_k)
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1):
        raise ValueError(f"top_p must be above 0 and at most 1, not {top_p!r}")


@dataclass
class ChoiceTable:
    """One sampling step in numbers, for each of the V candidate characters (indexed by id)."""

    logits: np.ndarray  # (V,) float64 the model's scores before the softmax
    scaled: np.ndarray  # (V,) logits / temperature
    probs: np.ndarray  # (V,) softmax of scaled: the probabilities at this temperature
    order: np.ndarray  # (V,) ids, most likely first (ties in id order)
    cut_by_top_k: np.ndarray  # (V,) bool: outside the top_k most likely
    cut_by_top_p: np.ndarray  # (V,) bool: outside the fewest most likely whose probabilities reach top_p
    kept: np.ndarray  # (V,) probs renormalised over the characters neither cut removed: what is drawn from
    u: float | None  # the uniform number of the draw; None for greedy
    drawn: int  # the id chosen


def explain_choice(logits, temperature=1.0, top_k=None, top_p=None, u=None):
    """How one character is chosen from logits (V,): a ChoiceTable.

    Temperature divides the logits; top-k keeps the k most likely characters; top-p keeps the
    fewest most likely characters whose probabilities (before top-k) add up to at least p; the
    kept ones are renormalised. With u in [0, 1) the drawn id is the first, in id order, whose
    cumulative kept probability exceeds u (inverse-CDF sampling, as sample() does), so the same u
    always redraws the same way. With u=None the choice is greedy: the id of the largest logit.
    Logits may be -inf for impossible characters.
    """
    check_sampling(temperature, top_k, top_p)
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 1 or logits.size == 0 or np.isnan(logits).any() or np.isposinf(logits).any() or not np.isfinite(logits).any():
        raise ValueError("the logits must be a non-empty (V,) array of numbers, not NaN or +inf, with at least one finite")
    if u is not None and (isinstance(u, bool) or not isinstance(u, (int, float, np.floating)) or not 0 <= u < 1):
        raise ValueError(f"the uniform number u must be at least 0 and below 1 (or None for greedy), not {u!r}")
    return _choose(logits, temperature, top_k, top_p, None if u is None else float(u))


def _choose(logits, temperature, top_k, top_p, u):
    scaled = logits / temperature
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")
    rank = np.empty(len(order), np.intp)
    rank[order] = np.arange(len(order))
    keep_k = len(order) if top_k is None else top_k
    # the tolerance keeps a character whose cumulative sum lands on p but rounds just below it
    keep_p = len(order) if top_p is None else int(np.searchsorted(np.cumsum(probs[order]), top_p * (1 - 1e-12))) + 1
    cut_by_top_k, cut_by_top_p = rank >= keep_k, rank >= keep_p
    kept = probs.copy()
    kept[cut_by_top_k | cut_by_top_p] = 0
    kept /= kept.sum()
    drawn = int(np.argmax(logits)) if u is None else _inverse_cdf(kept, u)
    return ChoiceTable(logits, scaled, probs, order, cut_by_top_k, cut_by_top_p, kept, u, drawn)


def _inverse_cdf(kept, u):
    drawn = min(int(np.searchsorted(np.cumsum(kept), u, side="right")), len(kept) - 1)
    while kept[drawn] == 0:  # rounding at the top of the cumulative sum
        drawn -= 1
    return drawn


def shape_distribution(probs, temperature=1.0, top_k=None, top_p=None):
    """(V,) probabilities -> (V,) float64 probabilities after temperature, top-k and top-p.

    Temperature rescales the log-probabilities; top-k keeps the k most likely characters; top-p
    keeps the fewest most likely characters whose probabilities add up to at least p.
    """
    check_sampling(temperature, top_k, top_p)
    with np.errstate(divide="ignore"):
        log_probs = np.log(np.asarray(probs, np.float64))
    return _choose(log_probs, temperature, top_k, top_p, None).kept


def _prime_ids(vocab, prime, rng):
    if prime:
        return vocab.encode(prime)
    # With no prime, start from a character drawn uniformly (as min-char-rnn does); it is output too.
    return np.array([rng.integers(len(vocab))], dtype=np.int32)


def _check_length(length):
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ValueError(f"the length must be a whole number of at least 0, not {length!r}")
    return int(length)


def _next_logits(model, ids, state=None):
    """ids (T,) fed from `state` -> (V,) float64 logits of the next character and the new state."""
    logits, _, _, _, state = model._run(model._check_ids(np.asarray(ids)[None, :], "the prime"), state)
    return logits[-1].astype(np.float64), state


def _choices(model, ids, primed, length, temperature, top_k, top_p, greedy, rng):
    """The new characters one by one: (id, ChoiceTable), or (id, None) for an unprimed start."""
    if not primed and length > 0:
        length -= 1
        yield int(ids[0]), None
    if length == 0:
        return
    logits, state = _next_logits(model, ids)
    for _ in range(length):
        table = _choose(logits, temperature, top_k, top_p, None if greedy else rng.random())
        yield table.drawn, table
        logits, state = _next_logits(model, [table.drawn], state)


def _start(model, vocab, prime, length, temperature, top_k, top_p, greedy, seed):
    check_sampling(temperature, top_k, top_p)
    length = _check_length(length)
    rng = np.random.default_rng(seed)
    ids = _prime_ids(vocab, prime, rng)
    return _choices(model, ids, bool(prime), length, temperature, top_k, top_p, greedy, rng)


def sample_steps(model, vocab, prime="", length=200, temperature=1.0, top_k=None, top_p=None, greedy=False, seed=None):
    """An iterator of (character, probs (V,)) for each new character; probs is the distribution it was drawn from.

    Every character of `prime` is fed through the model first. With an empty prime the first
    character is drawn uniformly from the vocabulary and yielded with uniform probabilities.
    Bad options and unknown prime characters raise here, before any character is produced.
    """
    choices = _start(model, vocab, prime, length, temperature, top_k, top_p, greedy, seed)
    return ((vocab.chars[drawn], _drawn_from(table, len(vocab))) for drawn, table in choices)


def _drawn_from(table, vocab_size):
    if table is None:
        return np.full(vocab_size, 1 / vocab_size)
    if table.u is None:  # greedy
        one_hot = np.zeros(vocab_size)
        one_hot[table.drawn] = 1
        return one_hot
    return table.kept


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


@dataclass
class ExplainedSample:
    """Generated text with what each of its N characters was chosen from."""

    text: str  # the new characters, exactly what sample() gives for the same arguments
    logits: np.ndarray  # (N, V) float64: the model's logits before each character of text
    uniforms: np.ndarray  # (N,) float64: the uniform number each draw used; NaN where none was (greedy)
    random_start: bool  # with an empty prime, text[0] was drawn uniformly, not by the model (its logits row is 0)

    def explain(self, position, temperature=1.0, top_k=None, top_p=None):
        """The ChoiceTable of text[position] redrawn with these options and the same uniform number."""
        if isinstance(position, bool) or not isinstance(position, (int, np.integer)) or not 0 <= position < len(self.text):
            raise ValueError(f"the position must be a whole number from 0 to {len(self.text) - 1}, not {position!r}")
        if position == 0 and self.random_start:
            raise ValueError("the first character was drawn uniformly at random to start from, not chosen by the model")
        u = self.uniforms[position]
        return explain_choice(self.logits[position], temperature, top_k, top_p, None if np.isnan(u) else u)


def sample_explained(model, vocab, prime="", length=200, temperature=1.0, top_k=None, top_p=None, greedy=False, seed=None):
    """sample() with each step kept: an ExplainedSample of `length` characters."""
    choices = list(_start(model, vocab, prime, length, temperature, top_k, top_p, greedy, seed))
    logits = np.zeros((len(choices), len(vocab)))
    uniforms = np.full(len(choices), np.nan)
    for row, (_, table) in enumerate(choices):
        if table is not None:
            logits[row] = table.logits
            uniforms[row] = np.nan if table.u is None else table.u
    text = "".join(vocab.chars[drawn] for drawn, _ in choices)
    return ExplainedSample(text, logits, uniforms, bool(choices) and choices[0][1] is None)


def next_char_probs(model, vocab, prime, temperature=1.0, top_k=None, top_p=None):
    """(V,) distribution of the character after `prime` (non-empty), shaped like sampling would."""
    if not prime:
        raise ValueError("the prime must hold at least one character")
    check_sampling(temperature, top_k, top_p)
    logits, _ = _next_logits(model, vocab.encode(prime))
    return _choose(logits, temperature, top_k, top_p, None).kept
