"""What the pages show of a run's text beside its curve: n-gram baselines and copied stretches. Plain Python.

Both are computed by rnn_core from the run's own text, once per text: a text's baselines and its
index of stretches are kept for the last few texts this server process has seen.
"""

import functools

from rnn_core import Vocab, split_validation
from rnn_core.baselines import ngram_baselines
from rnn_core.memorised import TextIndex

TEXTS_KEPT = 8  # a 1 MB text's index holds ~50 MB of hashes
COPY_LENGTH = 12  # the default shortest stretch counted as copied from the training text


@functools.lru_cache(maxsize=TEXTS_KEPT)
def baselines(text, val_fraction):
    """rnn_core.baselines.NgramBaselines of a run's text, counted on its training part and measured
    on its validation part (on the training part when it holds none out), as the run's own curve is."""
    vocab = Vocab.from_text(text)
    train_ids, val_ids = split_validation(vocab.encode(text), val_fraction)
    return ngram_baselines(train_ids, val_ids if len(val_ids) else train_ids, len(vocab))


@functools.lru_cache(maxsize=TEXTS_KEPT)
def text_index(text):
    """The rnn_core.memorised.TextIndex of a training text."""
    return TextIndex(text)


def copied(sample, text, min_length=COPY_LENGTH):
    """rnn_core.memorised.Copied: the stretches of `sample` found word for word in the training `text`."""
    return text_index(text).find_copied(sample, min_length)
