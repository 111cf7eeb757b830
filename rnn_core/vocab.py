"""The character vocabulary: text <-> integer ids."""

import numpy as np


class UnknownCharactersError(ValueError):
    """Raised when a text holds characters the vocabulary does not know."""

    def __init__(self, unknown):
        self.unknown = sorted(set(unknown))
        shown = ", ".join(repr(c) for c in self.unknown[:5])
        more = f" and {len(self.unknown) - 5} more" if len(self.unknown) > 5 else ""
        noun = "character" if len(self.unknown) == 1 else "characters"
        super().__init__(f"the model does not know the {noun} {shown}{more}")


class Vocab:
    """The sorted distinct characters (code points) of a text, each given an id."""

    def __init__(self, chars):
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("a vocabulary cannot hold the same character twice")
        self.index = {c: i for i, c in enumerate(self.chars)}
        codes = np.array([ord(c) for c in self.chars], dtype=np.uint32)
        self._order = np.argsort(codes)  # ids sorted by code point, for searchsorted
        self._sorted_codes = codes[self._order]

    @classmethod
    def from_text(cls, text):
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.chars)

    def __eq__(self, other):
        return isinstance(other, Vocab) and self.chars == other.chars

    def __contains__(self, char):
        return char in self.index

    def unknown(self, text):
        """The characters of `text` that are not in the vocabulary, sorted."""
        return sorted(set(text) - self.index.keys())

    def encode(self, text):
        """str of length N -> (N,) int32 ids; raises UnknownCharactersError."""
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        if len(self.chars) == 0:
            if len(text):
                raise UnknownCharactersError(text)
            return np.zeros(0, dtype=np.int32)
        where = np.minimum(np.searchsorted(self._sorted_codes, codes), len(self.chars) - 1)
        if not np.array_equal(self._sorted_codes[where], codes):
            raise UnknownCharactersError(self.unknown(text))
        return self._order[where].astype(np.int32)

    def decode(self, ids):
        """(N,) ints -> str."""
        return "".join(self.chars[i] for i in np.asarray(ids).ravel())
