"""Where training runs: a few worker processes shared by every session of the server. Plain Python.

Trained in the server's own threads, numpy's many small operations held Python's global lock for
most of each step, and the event loop that serves every page and websocket queued behind it: with
twenty sessions in turn, a new visitor's page took 16-30 s to load. A worker process holds no lock
the server needs, and at a lower CPU priority it gives way to the pages. A session hands its trainer
to a worker for one piece of training at a time and gets the trained copy back.
"""

import ctypes
import ctypes.util
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pages.limits import Caps
from rnn_core import DivergenceError

WORKERS = Caps.from_environment().training_workers
NICENESS = 10  # below the server and the browsers on the same cores; idle cores still go to training

_pool = None
_pool_lock = threading.Lock()


def _give_freed_arrays_back():
    # Every piece brings the trainer's arrays back as fresh copies. glibc serves large blocks from
    # a heap it seldom returns to the system once its own threshold has risen (up to 32 MB), so a
    # closed session's memory stayed with the server (226 MB where 136 MB were live). With the
    # threshold fixed at 128 KiB every large array is a mapping of its own, unmapped when freed.
    M_MMAP_THRESHOLD = -3
    try:
        ctypes.CDLL(ctypes.util.find_library("c")).mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError, TypeError):
        pass  # not glibc: its allocator has its own ways


_give_freed_arrays_back()


class WorkerLost(RuntimeError):
    """A training process ended in the middle of a piece (killed, or out of memory)."""


def _lower_priority():
    os.nice(NICENESS)


def _pool_of_workers():
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: the server has threads, and a forked copy of a held lock never opens
            _pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"), initializer=_lower_priority)
        return _pool


def _train_piece(trainer, epochs, max_seconds):
    try:
        return trainer, trainer.train(epochs, max_seconds=max_seconds), ""
    except DivergenceError as error:
        return trainer, "diverged", str(error)  # the trainer has put back the last good parameters


def train_piece(trainer, epochs, max_seconds):
    """Train a copy of `trainer` in a worker process for up to `max_seconds`.

    Returns (the trained copy, outcome, message): outcome is what Trainer.train returns, or
    "diverged" with the error's message. Raises WorkerLost if the worker died; `trainer` is
    untouched either way.
    """
    global _pool
    try:
        return _pool_of_workers().submit(_train_piece, trainer, epochs, max_seconds).result()
    except BrokenProcessPool:
        with _pool_lock:
            _pool = None  # the next piece starts fresh workers
        raise WorkerLost("The training process stopped unexpectedly. Your model is as it was a moment before: press Resume to go on.") from None
