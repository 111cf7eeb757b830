"""Memorised or new: the stretches of a sample that occur word for word in the training text.

Every k-gram (k characters, code points) of the text gets a polynomial hash, computed for all
of them at once from prefix sums: with S[i] = sum over j < i of c_j * B^-j (mod 2^64), the
k-gram starting at i hashes to (S[i + k] - S[i]) * B^i = sum over t < k of c_(i+t) * B^-t, the
same number wherever that k-gram stands. The hashes are sorted once per k and a sample's
k-grams are looked up with searchsorted. A hit is checked character by character against the
text, so a hash collision can never mark a stretch as copied; and when the k-gram of the text
found by the hash is not the one sought (a collision: all 64 bits must agree, which for a
sample of thousands of characters against a megabyte of text happens about once in 10^9
samples) the sample's k-gram is looked for in the text directly, so the answer is always exact.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .model import check_positive_int

_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2^64
_SORTED_LENGTHS = 4  # how many min_length settings keep their sorted hashes


@dataclass
class Copied:
    """Which characters of a sample were copied from the training text."""

    spans: list  # [(start, end)] maximal runs of copied characters, sample[start:end], in order
    copied_chars: int  # characters inside some span
    new_share: float  # fraction of the sample's characters in no span (1.0 for an empty sample)


def _codes(text):
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


def _powers(base, count):
    """(count,) uint64: base^0, base^1, ... modulo 2^64 (numpy's unsigned arithmetic wraps)."""
    powers = np.full(count, base, np.uint64)
    powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)


def _prefix_sums(codes):
    """(N,) codes -> prefix sums S (N + 1,) and powers of the base (N,), as in the module docstring."""
    prefix = np.zeros(len(codes) + 1, np.uint64)
    np.cumsum(codes * _powers(pow(_BASE, -1, 1 << 64), len(codes)), out=prefix[1:])
    return prefix, _powers(_BASE, len(codes))


def _kgram_hashes(prefix, powers, k):
    """The hash of every k-gram, (N - k + 1,), from _prefix_sums."""
    starts = len(prefix) - k
    return (prefix[k:] - prefix[:starts]) * powers[:starts]


class TextIndex:
    """The k-grams of a training text, to find which stretches of samples it holds verbatim.

    Building computes prefix sums over the text (and sorts its 12-grams, the default). Any other
    min_length costs one sort of the text's hashes on first use (~0.04 s for a megabyte); the
    last few lengths asked for are kept.
    """

    def __init__(self, text):
        if not isinstance(text, str):
            raise ValueError("the training text must be a string")
        self.text = text
        self._text_codes = _codes(text)
        self._prefix, self._powers = _prefix_sums(self._text_codes)
        self._sorted = OrderedDict()
        self._lock = threading.Lock()  # one index may serve several sessions' threads
        if len(text) >= 12:
            self._sorted_hashes(12)

    def _sorted_hashes(self, k):
        """(hashes sorted, text position of each) for the text's k-grams."""
        with self._lock:
            if k not in self._sorted:
                hashes = _kgram_hashes(self._prefix, self._powers, k)
                order = np.argsort(hashes)
                self._sorted[k] = (hashes[order], order)
                if len(self._sorted) > _SORTED_LENGTHS:
                    self._sorted.popitem(last=False)
            self._sorted.move_to_end(k)
            return self._sorted[k]

    def find_copied(self, sample, min_length=12):
        """The stretches of `sample` (str) found verbatim in the text, at least min_length long: Copied.

        A character is copied when it lies inside some window of at least min_length sample
        characters that occurs in the text. Overlapping and touching windows merge, so a span can
        join copies from different places of the text.
        """
        if not isinstance(sample, str):
            raise ValueError("the sample must be a string")
        k = check_positive_int("min_length", min_length)
        if len(sample) < k or len(self.text) < k:
            return Copied([], 0, 1.0)
        sample_codes = _codes(sample)
        wanted = _kgram_hashes(*_prefix_sums(sample_codes), k)  # (M,) one per window of the sample
        sorted_hashes, positions = self._sorted_hashes(k)
        where = np.minimum(np.searchsorted(sorted_hashes, wanted), len(sorted_hashes) - 1)
        hits = np.flatnonzero(sorted_hashes[where] == wanted)  # sample windows whose hash the text has
        offsets = np.arange(k)
        same = (self._text_codes[positions[where[hits]][:, None] + offsets] == sample_codes[hits[:, None] + offsets]).all(axis=1)
        collided = [start for start in hits[~same] if sample[start : start + k] in self.text]
        starts = np.concatenate([hits[same], np.array(collided, np.intp)])
        return _runs(starts, k, len(sample))


def _runs(starts, k, length):
    """Copied from windows [start, start + k): the maximal runs of characters they cover."""
    edges = np.zeros(length + 1, np.int64)
    edges[starts] += 1  # starts are distinct, so plain indexing adds once per window
    edges[starts + k] -= 1
    covered = np.cumsum(edges[:length]) > 0  # (length,)
    changes = np.flatnonzero(np.diff(np.concatenate([[False], covered, [False]]).astype(np.int8)))
    spans = [(int(start), int(end)) for start, end in zip(changes[::2], changes[1::2])]
    copied = int(covered.sum())
    return Copied(spans, copied, (length - copied) / length)
