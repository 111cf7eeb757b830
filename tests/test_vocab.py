import numpy as np
import pytest

from rnn_core import UnknownCharactersError, Vocab


def test_sorted_distinct_characters_round_trip():
    text = "hello, world"
    vocab = Vocab.from_text(text)
    assert vocab.chars == sorted(set(text))
    assert len(vocab) == len(set(text))
    ids = vocab.encode(text)
    assert ids.dtype == np.int32 and ids.shape == (len(text),)
    assert vocab.decode(ids) == text


def test_unicode_emoji_and_combining_marks_are_characters():
    text = "e\u0301 👋 שלום ∑ \u0000\t"
    vocab = Vocab.from_text(text)
    assert "\u0301" in vocab and "👋" in vocab and "\u0000" in vocab
    assert vocab.decode(vocab.encode(text)) == text


def test_unknown_characters_error_lists_them_quoted():
    vocab = Vocab.from_text("abc")
    with pytest.raises(UnknownCharactersError) as caught:
        vocab.encode("abxyz")
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert "'x'" in message and "'y'" in message and "'z'" in message
    assert caught.value.unknown == ["x", "y", "z"]


def test_unknown_characters_message_is_capped():
    vocab = Vocab.from_text("a")
    with pytest.raises(UnknownCharactersError, match="and 20 more"):
        vocab.encode("bcdefghijklmnopqrstuvwxyz")


def test_empty_text_encodes_to_empty_array():
    assert Vocab.from_text("ab").encode("").shape == (0,)
