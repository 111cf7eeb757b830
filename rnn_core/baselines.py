"""What simple counting achieves: uniform, unigram and bigram models in bits per character.

A network is only learning something when it beats these on the same text.
"""

from dataclasses import dataclass

import numpy as np

from .model import check_positive_int


@dataclass
class NgramBaselines:
    """Mean bits per character over the evaluated text, for three counting models."""

    uniform: float  # log2 V: every character equally likely
    unigram: float  # letter frequencies of the training part
    bigram: float  # frequencies of each character after the one before it


def _check_ids(ids, name, vocab_size):
    ids = np.asarray(ids)
    if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
        raise ValueError(f"the {name} must be a 1-D array of character ids")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"the {name} holds ids outside 0..{vocab_size - 1}")
    return ids.astype(np.int64)


def ngram_baselines(train_ids, eval_ids, vocab_size):
    """Bits per character of eval_ids (M,) under models counted on train_ids (N,).

    Both models are add-one (Laplace) smoothed, so a character or pair the training part never
    shows costs many bits but never infinitely many:
    unigram p(c) = (count(c) + 1) / (N + V), bigram p(c | a) = (count(a c) + 1) / (count(a .) + V),
    where count(a .) is how often a is followed by anything in the training part. The first
    evaluated character has no character before it and is scored by the unigram model.
    """
    vocab_size = check_positive_int("vocab_size", vocab_size)
    train_ids = _check_ids(train_ids, "training ids", vocab_size)
    eval_ids = _check_ids(eval_ids, "evaluation ids", vocab_size)
    if eval_ids.size == 0:
        raise ValueError("there is no text to evaluate the baselines on")

    char_counts = np.bincount(train_ids, minlength=vocab_size)  # (V,)
    unigram_bits = -np.log2((char_counts[eval_ids] + 1) / (train_ids.size + vocab_size))  # (M,)

    # pairs as single numbers a * V + c, sorted and looked up: no (V, V) table, so a text with
    # thousands of distinct characters costs no more than one with 65
    train_pairs = np.sort(train_ids[:-1] * vocab_size + train_ids[1:])
    eval_pairs = eval_ids[:-1] * vocab_size + eval_ids[1:]  # (M - 1,)
    pair_counts = np.searchsorted(train_pairs, eval_pairs, side="right") - np.searchsorted(train_pairs, eval_pairs, side="left")
    context_counts = np.bincount(train_ids[:-1], minlength=vocab_size)[eval_ids[:-1]]
    bigram_bits = -np.log2((pair_counts + 1) / (context_counts + vocab_size))  # (M - 1,)

    return NgramBaselines(
        uniform=float(np.log2(vocab_size)),
        unigram=float(unigram_bits.mean()),
        bigram=float((unigram_bits[0] + bigram_bits.sum()) / eval_ids.size),
    )
