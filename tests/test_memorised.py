import time

import numpy as np
import pytest

from rnn_core import memorised
from rnn_core.memorised import TextIndex

TEXT = "the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs."


def brute_force_spans(text, sample, k):
    """Maximal runs of characters inside some k-window of the sample found in the text."""
    covered = np.zeros(len(sample), bool)
    for start in range(len(sample) - k + 1):
        if sample[start : start + k] in text:
            covered[start : start + k] = True
    spans, start = [], None
    for i, flag in enumerate([*covered, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            spans.append((start, i))
            start = None
    return spans, int(covered.sum())


@pytest.mark.parametrize(
    "sample,spans",
    [
        ("the quick brown XXXXXXXXXX", [(0, 16)]),  # copy at the start
        ("XXXXXXXXXX over the lazy dog", [(10, 28)]),  # at the end
        ("XXXX five dozen liquor XXXX", [(4, 23)]),  # in the middle
        ("XXXXXXXXXXXXXXXXXXXXXXXX", []),  # nothing copied
        ("the quick brownXover the lazy", [(0, 15), (16, 29)]),  # two copies, one character apart
    ],
)
def test_copies_are_found_where_they_are(sample, spans):
    copied = TextIndex(TEXT).find_copied(sample, 12)
    assert copied.spans == spans
    assert copied.copied_chars == sum(end - start for start, end in spans)
    assert copied.new_share == pytest.approx(1 - copied.copied_chars / len(sample))


def test_overlapping_and_touching_copies_merge_into_one_span():
    text = "abcdefghijkl-----bcdefghijklm=====mnopqrstuvwx"
    # "abcdefghijklm" is not in the text, but its two 12-windows are; "mnop..." touches them
    copied = TextIndex(text).find_copied("abcdefghijklmnopqrstuvwx", 12)
    assert copied.spans == [(0, 24)] and copied.copied_chars == 24 and copied.new_share == 0


def test_a_copy_one_character_short_of_min_length_is_not_marked():
    index = TextIndex(TEXT)
    assert index.find_copied("XXbrown fox juXX", 13).spans == []  # "brown fox ju" is 12 long
    assert index.find_copied("XXbrown fox juXX", 12).spans == [(2, 14)]
    assert index.find_copied("XXbrown fox jumXX", 13).spans == [(2, 15)]


def test_other_min_lengths_give_the_same_answer_as_a_brute_force_search():
    index = TextIndex(TEXT)
    sample = "the lazy box with five fox jumps over the quick dozen"
    for k in [1, 3, 5, 8, 12, 20, 30]:
        spans, count = brute_force_spans(TEXT, sample, k)
        copied = index.find_copied(sample, k)
        assert (copied.spans, copied.copied_chars) == (spans, count), k


def test_unicode_is_compared_by_code_point():
    text = "Là où l'émoji 👋 dit « bonjour » à tout le monde, e\u0301 n'est pas é."
    index = TextIndex(text)
    assert index.find_copied("xx👋 dit « bonjour »yy", 12).spans == [(2, 19)]  # the emoji is one character
    # "e" + combining acute looks like "é" but is two code points: no copy across the difference
    assert index.find_copied("n'est pas é.", 12).spans == [(0, 12)]
    assert index.find_copied("n'est pas e\u0301.", 12).spans == []


def test_short_and_empty_samples_are_all_new():
    index = TextIndex(TEXT)
    assert index.find_copied("", 12).new_share == 1.0
    short = index.find_copied("the quick", 12)
    assert short.spans == [] and short.copied_chars == 0 and short.new_share == 1.0
    assert TextIndex("abc").find_copied("abc", 3).new_share == 0.0
    assert TextIndex("ab").find_copied("abcdefghijklmn").new_share == 1.0


def test_random_samples_match_a_brute_force_search():
    rng = np.random.default_rng(0)
    alphabet = np.array(list("ab c"))  # few letters, so short copies abound
    text = "".join(rng.choice(alphabet, 3000))
    index = TextIndex(text)
    for trial in range(40):
        pieces = [text[s : s + n] if rng.random() < 0.5 else "".join(rng.choice(alphabet, n)) for s, n in zip(rng.integers(0, 2900, 6), rng.integers(1, 30, 6))]
        sample = "".join(pieces)
        k = int(rng.integers(1, 16))
        spans, count = brute_force_spans(text, sample, k)
        copied = index.find_copied(sample, k)
        assert (copied.spans, copied.copied_chars) == (spans, count), (trial, k)


def test_hash_collisions_are_caught(monkeypatch):
    # with base 1 a k-gram hashes to the sum of its codes, so every anagram collides
    monkeypatch.setattr(memorised, "_BASE", 1)
    text = "abcdefghij jihgfedcba acegikbdfhj"
    index = TextIndex(text)
    assert index.find_copied("jihgfedcbaX", 10).spans == [(0, 10)]
    assert index.find_copied("bacdefghijX", 10).spans == []  # an anagram of "abcdefghij": same hash
    rng = np.random.default_rng(1)
    for _ in range(30):
        sample = "".join(rng.choice(list("abcdefghij "), 40))
        for k in (2, 3, 4):
            assert index.find_copied(sample, k).spans == brute_force_spans(text, sample, k)[0]


@pytest.mark.parametrize("min_length", [0, -3, 2.5, True])
def test_bad_min_length_raises(min_length):
    with pytest.raises(ValueError, match="min_length"):
        TextIndex(TEXT).find_copied("the quick brown fox", min_length)


def test_a_megabyte_index_answers_a_long_sample_quickly():
    rng = np.random.default_rng(0)
    words = ["the", "and", "of", "king", "lord", "thou", "shall", "to", "my", "a", "is", "in", "that", "me"]
    text = " ".join(rng.choice(words, 250_000))[:1_000_000]
    started = time.perf_counter()
    index = TextIndex(text)
    built = time.perf_counter() - started
    sample = "".join(text[s : s + 40] + "zq" for s in rng.integers(0, len(text) - 40, 120))[:5000]
    started = time.perf_counter()
    copied = index.find_copied(sample)
    marked = time.perf_counter() - started
    assert copied.copied_chars >= 4000  # the 40-character pieces, each broken by "zq"
    assert built < 3 and marked < 0.2
