"""Where training runs: a few worker processes shared by every session of the server. Plain Python.

Trained in the server's own threads, numpy's many small operations held Python's global lock for
most of each step, and the event loop that serves every page and websocket queued behind it: with
twenty sessions in turn, a new visitor's page took 16-30 s to load. A worker process holds no lock
the server needs, and at a lower CPU priority it gives way to the pages. The training service
(playground.service) hands a run's trainer to a worker for one piece of training at a time and
gets the trained copy back, with a sample and checkpoint bytes when it asks for them.
"""

import ctypes
import ctypes.util
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from playground.limits import Caps
from rnn_core import DivergenceError, sample, to_bytes, training_state_to_bytes

WORKERS = Caps.from_environment().training_workers
SAMPLE_LENGTH = 200
# Below the server and the browsers on the same cores; idle cores still go to training. At +10 the
# live view cost +11% over the engine alone (the browser's redraws won), at +4 +7-15%.
NICENESS = 4

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")

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



class WorkerLost(RuntimeError):
    """A training process ended in the middle of a piece (killed, or out of memory)."""


def _start_worker():
    os.nice(NICENESS)
    # A server killed outright (SIGKILL, or SIGTERM once it re-raises it) left its workers behind
    # for good: each holds the pool's queues open, so none of them ever reads an end of file.
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()


def _exit_when_orphaned(server_pid):
    while os.getppid() == server_pid:
        time.sleep(1.0)
    os._exit(0)


def _pool_of_workers():
    global _pool
    with _pool_lock:
        if _pool is None:
            # in the server only: in a worker, a fresh mapping per large array costs ~15% of training
            _give_freed_arrays_back()
            # One BLAS thread per worker unless set otherwise. The workers' environment is the
            # server's, which need not say: under pytest each of two workers started two OpenBLAS
            # threads on two cores, and their spinning made training 20 times slower.
            for variable in BLAS_THREAD_VARIABLES:
                os.environ.setdefault(variable, "1")
            # spawn, not fork: the server has threads, and a forked copy of a held lock never opens
            _pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker)
        return _pool


# In a worker: the model of each run's latest piece, whose arrays the next piece of that run reuses
# (fresh ones cost page faults: 13 ms on the first step of a piece, GRU H=128 B=32 T=64).
_recent_models = {}
RECENT_RUNS = 8


@dataclass
class Piece:
    """What a worker sends back: the trained copy, why it stopped, and what the server asked for."""

    trainer: object
    outcome: str  # what Trainer.train returned, or "diverged"
    message: str  # the divergence, in the engine's words
    sample: tuple = None  # (epoch, text) when asked for
    saved: tuple = None  # (model .npz bytes, training state bytes) when asked for
    cpu_seconds: float = 0.0  # the worker's CPU time for all of it: what the run's turn was worth


def _train_piece(run_id, trainer, vocab, epochs, max_seconds, sample_from, sample_due, save, first_point):
    cpu_started = time.process_time()
    previous = _recent_models.pop(run_id, None)
    if previous is not None and previous.config == trainer.model.config:
        trainer.model.reuse_workspace(previous)
    _recent_models[run_id] = trainer.model
    while len(_recent_models) > RECENT_RUNS:
        del _recent_models[next(iter(_recent_models))]  # the least recently trained
    # a new run's first piece ends at its first point, so that it shows at once
    stop_at_first_point = (lambda event: True) if first_point else None
    try:
        outcome, message = trainer.train(epochs, max_seconds=max_seconds, callback=stop_at_first_point), ""
    except DivergenceError as error:
        outcome, message = "diverged", str(error)  # the trainer has put back the last good parameters
    piece = Piece(trainer, outcome, message)
    # Samples and checkpoints are made here, not in the server: numpy in the server's threads
    # holds the lock that every page and websocket waits for.
    if (sample_due or outcome != "time") and trainer.epoch > 0:  # a run that ends shows its final sample
        prime, seed = sample_from
        piece.sample = (trainer.epoch, prime + sample(trainer.model, vocab, prime, SAMPLE_LENGTH, temperature=0.8, seed=seed + trainer.epoch))
    if save or outcome != "time":
        piece.saved = checkpoint_bytes(trainer, vocab)
    piece.cpu_seconds = time.process_time() - cpu_started
    return piece


def checkpoint_bytes(trainer, vocab):
    """(model checkpoint, training state) of a trainer, as the run store keeps them."""
    return to_bytes(trainer.model, vocab), training_state_to_bytes(trainer)


def warm_up():
    """Make every worker process start and load numpy and the engine, so the first Train waits for neither."""
    pool = _pool_of_workers()
    for future in [pool.submit(_warm) for _ in range(WORKERS)]:
        future.result()


def shut_down():
    """Stop the worker processes (the server's lifespan does it when the server stops)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _warm():
    time.sleep(0.2)  # long enough that each call lands on a worker of its own
    return os.getpid()


def start_piece(run_id, trainer, vocab, epochs, max_seconds, sample_from, sample_due=False, save=False, first_point=False):
    """Start training a copy of `trainer` (of run `run_id`) in a worker process for up to `max_seconds`.

    sample_from: (prime, seed) of the run's samples, taken when sample_due or the run ends; save: also return
    its checkpoint bytes (always when the run ends); first_point: end at the first point of the
    curve (a new run's first piece). Returns a Future of a Piece; `trainer`
    itself is never touched. Raises WorkerLost if the workers died (`result` too).
    """
    pool = _pool_of_workers()
    try:
        return pool.submit(_train_piece, run_id, trainer, vocab, epochs, max_seconds, sample_from, sample_due, save, first_point)
    except BrokenProcessPool:
        raise _lost(pool) from None


def result(future):
    """The Piece of a finished future from start_piece; WorkerLost if its worker died."""
    try:
        return future.result()
    except BrokenProcessPool:
        raise _lost_current() from None


def _lost_current():
    with _pool_lock:
        pool = _pool
    return _lost(pool) if pool is not None else WorkerLost(LOST_MESSAGE)


LOST_MESSAGE = "The training process stopped unexpectedly. Your model is as it was at its last save: press Resume to go on."


def _lost(pool):
    global _pool
    with _pool_lock:
        if _pool is pool:  # a late failure of an old pool leaves its healthy successor alone
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)
    return WorkerLost(LOST_MESSAGE)
