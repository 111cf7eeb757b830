"""Maps of what the network learnt: its character embeddings and hidden states, flattened to 2-D."""

import string
import unicodedata
from dataclasses import dataclass

import numpy as np

DEFAULT_POSITIONS = 3000  # points a map shows: enough to see clusters, drawn in well under a second
_CHUNK = 1024  # steps per forward pass, so a long map never holds a long window's scratch arrays


def pca_2d(points):
    """points (N, D) -> (coords (N, 2), explained (2,)): the projection on the two principal axes.

    explained holds the fraction of the total variance along each axis (0 when there is none).
    Each axis points where its largest-magnitude loading is positive, so the same points always
    give the same picture. With fewer than two independent directions the missing axes are 0.
    """
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[0] < 1 or points.shape[1] < 1:
        raise ValueError("the points must be a non-empty (N, D) array")
    if not np.isfinite(points).all():
        raise ValueError("the points hold NaN or infinite values")
    centred = points - points.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)  # axes (K, D), K = min(N, D)
    count = min(2, len(singular))
    components = np.zeros((2, points.shape[1]))
    components[:count] = axes[:count]
    largest = np.abs(components).argmax(axis=1)
    components *= np.where(components[np.arange(2), largest] < 0, -1.0, 1.0)[:, None]
    variances = np.zeros(2)
    variances[:count] = singular[:count] ** 2
    total = (singular**2).sum()
    return centred @ components.T, variances / total if total > 0 else variances


def embedding_map(model):
    """(coords (V, 2), explained (2,)): each character's embedding, row id of Wx0 (V, G*H), on two axes."""
    return pca_2d(model.params["Wx0"])


@dataclass
class HiddenMap:
    """The last layer's hidden state after each character read, on two principal axes."""

    coords: np.ndarray  # (T, 2) point t: the state after reading ids[positions[t]]
    explained: np.ndarray  # (2,) fraction of the variance along each axis
    positions: np.ndarray  # (T,) indices into ids


def hidden_map(model, ids, max_positions=DEFAULT_POSITIONS):
    """Run the model over the first max_positions of ids (N,) from a zero state: a HiddenMap.

    Only the start of a long text is read (3,000 characters by default), since every character
    costs one recurrent step and the map would not show more points legibly.
    """
    if isinstance(max_positions, bool) or not isinstance(max_positions, (int, np.integer)) or max_positions < 1:
        raise ValueError(f"max_positions must be a whole number of at least 1, not {max_positions!r}")
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError("the text to map must be a non-empty (N,) array of character ids")
    ids = ids[:max_positions]
    state, chunks = None, []
    for start in range(0, len(ids), _CHUNK):
        result = model.forward(ids[None, start : start + _CHUNK], state)
        chunks.append(result.hidden[-1, 0])  # (chunk, H) of the last layer
        state = result.state
    coords, explained = pca_2d(np.concatenate(chunks))
    return HiddenMap(coords, explained, np.arange(len(ids)))


def char_class(char):
    """One of "vowel", "consonant", "digit", "space", "punctuation", "other", for a map's colours.

    Vowels are a, e, i, o, u in either case, with any accents (é, Ü); consonants the other letters
    of a-z, accented or not (ç, ñ). Other letters (ß, ø, Greek, Cyrillic), symbols such as emoji,
    and control characters are "other"; punctuation is Unicode's, plus ASCII's symbols ($ + < = > ^ ` | ~).
    """
    if not isinstance(char, str) or len(char) != 1:
        raise ValueError(f"char_class takes a single character, not {char!r}")
    base = unicodedata.normalize("NFD", char)[0].lower()  # é -> e
    if base in "aeiou":
        return "vowel"
    if base in string.ascii_lowercase:
        return "consonant"
    if unicodedata.category(char) == "Nd":
        return "digit"
    if char.isspace():
        return "space"
    if unicodedata.category(char).startswith("P") or char in string.punctuation:
        return "punctuation"
    return "other"
