"""Where training runs: a few worker processes shared by every session of the server. Plain Python.

Trained in the server's own threads, numpy's many small operations held Python's global lock for
most of each step, and the event loop that serves every page and websocket queued behind it: with
twenty sessions in turn, a new visitor's page took 16-30 s to load. A worker process holds no lock
the server needs, and at a lower CPU priority it gives way to the pages. A session hands its trainer
to a worker for one piece of training at a time and gets the trained copy back; the next piece
starts before the page redraws, so drawing costs the training nothing.
"""

import ctypes
import ctypes.util
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from playground.limits import Caps
from rnn_core import DivergenceError

WORKERS = Caps.from_environment().training_workers
# Below the server and the browsers on the same cores; idle cores still go to training. At +10 the
# live view cost +11% over the engine alone (the browser's redraws won), at +4 +7-15%.
NICENESS = 4

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


# In a worker: the model of each run's latest piece, whose arrays the next piece of that run reuses
# (fresh ones cost page faults: 13 ms on the first step of a piece, GRU H=128 B=32 T=64).
_recent_models = {}
RECENT_RUNS = 8


def _train_piece(run_id, trainer, epochs, max_seconds):
    previous = _recent_models.pop(run_id, None)
    if previous is not None and previous.config == trainer.model.config:
        trainer.model.reuse_workspace(previous)
    _recent_models[run_id] = trainer.model
    while len(_recent_models) > RECENT_RUNS:
        del _recent_models[next(iter(_recent_models))]  # the least recently trained
    try:
        return trainer, trainer.train(epochs, max_seconds=max_seconds), ""
    except DivergenceError as error:
        return trainer, "diverged", str(error)  # the trainer has put back the last good parameters


def start_piece(run_id, trainer, epochs, max_seconds):
    """Start training a copy of `trainer` (of run `run_id`) in a worker process for up to `max_seconds`.

    Returns a function that waits for (the trained copy, outcome, message): outcome is what
    Trainer.train returns, or "diverged" with the error's message. Meanwhile the caller can
    redraw; `trainer` itself is never touched. Starting or waiting raises WorkerLost if a
    worker died.
    """
    pool = _pool_of_workers()
    try:
        future = pool.submit(_train_piece, run_id, trainer, epochs, max_seconds)
    except BrokenProcessPool:
        raise _lost(pool) from None

    def result():
        try:
            return future.result()
        except BrokenProcessPool:
            raise _lost(pool) from None

    return result


def _lost(pool):
    global _pool
    with _pool_lock:
        if _pool is pool:  # a late failure of an old pool leaves its healthy successor alone
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)
    return WorkerLost("The training process stopped unexpectedly. Your model is as it was a moment before: press Resume to go on.")
