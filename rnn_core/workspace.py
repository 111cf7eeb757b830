"""Arrays reused from one call to the next.

A fresh multi-megabyte array costs a page fault per 4 KiB the first time it is written, which
at these sizes takes longer than the arithmetic. Each thread gets its own arrays, so a model
can be used from two threads at once.
"""

import threading

import numpy as np

_MAX_ARRAYS = 256  # beyond this many (name, shape) pairs, start over rather than grow


class Workspace(threading.local):
    def __init__(self, dtype):
        self.dtype = dtype
        self.arrays = {}

    def get(self, name, shape):
        """An uninitialised array of `shape`, the same one every time for the same name and shape."""
        key = (name, shape)
        array = self.arrays.get(key)
        if array is None:
            if len(self.arrays) >= _MAX_ARRAYS:
                self.arrays.clear()  # whatever was memoised from the old arrays goes too
            array = self.arrays[key] = np.empty(shape, self.dtype)
        return array

    def memo(self, name, make):
        """make(), computed once and kept with the arrays (cleared with them)."""
        key = (name, None)
        if key not in self.arrays:
            self.arrays[key] = make()
        return self.arrays[key]

    def scope(self, prefix):
        """A get(name, shape) whose names are prefixed, for one layer."""
        return lambda name, shape: self.get((prefix, name), shape)
