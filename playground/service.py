"""The training service: one per server process, it trains every run that wants training. Plain Python.

Runs belong to their owner (a browser), live here and in the run store, and train whatever the
pages do: another page, another tab, a closed laptop lid for less than the session TTL. Pages only
watch a run and ask the service to start, stop or resume it.

A scheduler thread hands the worker processes (`playground.workers`) to the runs that want
training in fair turns: one piece of at most PIECE_SECONDS per turn, the next turn to the waiting
run the workers have given the least CPU time. A run that joins starts level with the least served
of the others: a new run gets its first point within a turn or two instead of a round of the whole
queue, and a run back from a stop neither jumps the others nor waits for them to catch up. CPU
time, not turns, because a piece's wall time is not its work: with the server's pages on the same
cores, a room of 20 counted in turns had its slowest session at 0.31 of the fastest one's
characters per second, counted in CPU time at 0.55 (benchmarks/load_test.py).
A run is saved when it stops, finishes or diverges and every
SAVE_EVERY_SECONDS while it trains; the bytes are made in the worker. When no session of an
owner has been connected for the session TTL, the owner's run is saved and paused.
"""

import logging
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait

from playground import runs, workers
from playground.limits import Caps
from playground.state import TrainingRun
from playground.store import RunStore, StoreFull, data_dir

PIECE_SECONDS = 1.0
SAVE_EVERY_SECONDS = 5.0
SAMPLE_EVERY_SECONDS = 2.0  # a sample costs the worker ~60 ms (GRU H=128): every 2 s is 3% of its time
PRESENCE_EVERY_SECONDS = 1.0
# Of every page watching a run in this process together. Each redraw holds Python's lock, which
# the server's event loop and every other page share: with 100 runs training, views redrawn every
# 1-2 s took more than a core, and a new visitor's page waited 9-30 s (p95).
REDRAWS_PER_SECOND = 20
WATCH_INTERVALS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0)  # steps, so that a page's timer changes seldom
FORGET_IDLE_OWNERS_SECONDS = 600  # an owner with nothing training and no page open leaves memory (not the store)
PAUSED_MESSAGE = "Paused: none of your pages was open for a while. Press Resume to go on."
RESTARTED_MESSAGE = "The server restarted while this run trained: it is as it was at its last save. Press Resume to go on."
_log = logging.getLogger(__name__)


class Owner:
    """One browser's runs in this process: the current run, the kept runs and the deleted ones."""

    def __init__(self, owner_id):
        self.owner_id = owner_id
        self.lock = threading.RLock()
        self.current = None  # TrainingRun
        self.kept = []  # runs.RunRecord, oldest first
        self.deleted = {}  # run_id -> progress (runs.delete)
        self.comparison = []  # (name, TrainingRun) of the comparison training now, kept as each ends
        self.sessions = set()  # Streamlit session ids seen
        self.away_since = None  # when the last of its sessions disconnected
        self.last_seen = time.monotonic()
        self.loaded = False  # its runs read from the store


class TrainingService:
    """Trains the runs of every owner of this process in fair turns; keeps their runs in `store`."""

    def __init__(self, store, session_ttl=60.0, is_connected=None):
        self.store = store
        self.session_ttl = session_ttl
        self.is_connected = is_connected  # session id -> bool; None: every session counts as connected
        self._owners = {}
        self._owners_lock = threading.Lock()
        self._queue = deque()  # TrainingRun waiting for a turn
        self._in_flight = {}  # Future -> TrainingRun
        self._landing = set()  # TrainingRun whose piece is back and not yet queued again: still training
        self._lock = threading.Lock()  # queue and in-flight
        self._wake = threading.Event()
        self._landed = threading.Condition()  # notified whenever a piece lands or a run stops
        self._stopping = threading.Event()
        self._thread = None

    # the service's life

    def start(self):
        """Start the workers (warm: numpy and the engine loaded) and the scheduler thread."""
        if self._thread is not None:
            return
        workers.warm_up()
        self.store.expire()
        self._thread = threading.Thread(target=self._schedule, name="training-service", daemon=True)
        self._thread.start()

    def shutdown(self):
        """Stop scheduling, let the pieces in flight land, and save every run that was training."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        workers.shut_down()

    # owners

    def owner(self, owner_id, session_id=None):
        """The owner's runs, read from the store the first time this process sees the owner."""
        with self._owners_lock:
            owner = self._owners.get(owner_id)
            if owner is None:
                owner = self._owners[owner_id] = Owner(owner_id)
        with owner.lock:  # the store is read under the owner's lock: other browsers' pages do not wait for it
            if not owner.loaded:
                self._load(owner)
                owner.loaded = True
        owner.last_seen = time.monotonic()
        if session_id is not None:
            owner.sessions.add(session_id)
        return owner

    def _load(self, owner):
        self.store.touch(owner.owner_id)
        for row in self.store.runs(owner.owner_id, "kept"):
            try:
                owner.kept.append(runs.record_from_saved(row))
            except ValueError as error:  # a row this version cannot read: skip it, keep the rest
                _log.warning("A kept run could not be read and is skipped: %s", error)
        for row in self.store.runs(owner.owner_id, "current")[-1:]:
            try:
                run = TrainingRun.from_saved(row)
            except ValueError as error:
                _log.warning("A current run could not be read and is skipped: %s", error)
                continue
            if run.training:  # its process is gone: the run stands at its last save
                run.status, run.message = "stopped", RESTARTED_MESSAGE
            owner.current = run

    def forget(self, owner):
        """Delete every run of the owner, in memory and in the store, at once."""
        with owner.lock:
            if owner.current is not None:
                self.stop(owner.current)
            owner.current, owner.kept, owner.deleted = None, [], {}
            self.store.forget(owner.owner_id)

    # runs

    def replace_current(self, owner, run, caps=None):
        """Make `run` (or None) the owner's current run; the one it replaces stops and is kept.

        Returns the names of kept runs dropped to make room, and whether the old run was kept.
        """
        with owner.lock:
            old = owner.current
            dropped, kept = [], False
            if old is not None and old is not run:
                self.stop(old)
                dropped = self.keep(owner, old, caps=caps)
                kept = any(record.run_id == old.run_id for record in owner.kept)
                self.store.delete(owner.owner_id, "current", old.run_id)
            owner.current = run
            if run is not None:
                self.save(owner, run)
            return dropped, kept

    def train(self, owner, run):
        """Queue `run` (already the owner's current run) for training; its status becomes "training"."""
        with self._lock:
            run.owner_id = owner.owner_id
            run.start()
            if run not in self._queue and run not in self._in_flight.values() and run not in self._landing:
                # level with the least served: a run back from a stop neither jumps the others nor
                # waits for them to catch up with what it trained before they came
                others = [other.served_seconds for other in (*self._queue, *self._in_flight.values(), *self._landing)]
                run.served_seconds = min(others, default=run.served_seconds)
                self._queue.append(run)
        self._wake.set()

    def train_comparison(self, owner, variants, seconds):
        """Train a comparison's variants [(name, TrainingRun)] beside the current run, each for at most
        `seconds` of training; each is kept under its name when it ends."""
        with owner.lock:
            owner.comparison = list(variants)
        for name, run in variants:
            run.keep_as, run.time_limit = name, seconds
            self.train(owner, run)

    def stop(self, run):
        """Stop `run` when its piece in flight lands (within PIECE_SECONDS), or now if it waits."""
        with self._lock:
            run.stop()
            waiting = run in self._queue
            if waiting:
                self._queue.remove(run)
        if waiting:
            self.save_by_id(run)
        self._tell_watchers()

    def wait_for_landing(self, seconds):
        """Block for up to `seconds`, returning early when any run's piece lands or a run stops."""
        with self._landed:
            self._landed.wait(seconds)

    def _tell_watchers(self):
        with self._landed:
            self._landed.notify_all()

    def queue_place(self, run):
        """1 for the next run to get a worker, 2 for the one after...; None unless it waits for a busy worker.

        A run between two of its own pieces, with a worker free for it, is not waiting.
        """
        with self._lock:
            if run in self._in_flight.values() or run not in self._queue or len(self._in_flight) < workers.WORKERS:
                return None
            return self._in_turn().index(run) + 1

    def _in_turn(self):
        """The waiting runs in the order they get a worker: least served first, then first come (under _lock)."""
        return sorted(self._queue, key=lambda run: run.served_seconds)

    def watch_interval(self, seconds):
        """How often a page watching a training run should redraw: every `seconds`, or less often
        when so many runs train that their pages would redraw more than REDRAWS_PER_SECOND times a
        second in all. One of WATCH_INTERVALS (the next step up from `seconds`).
        """
        with self._lock:
            # a run being landed counts: a page that redrew meanwhile would take a faster pace, and
            # the next redraw would find it changed and redraw the whole page
            training = len(self._queue) + len(self._in_flight) + sum(run.training for run in self._landing)
        wanted = max(seconds, training / REDRAWS_PER_SECOND)
        return next((step for step in WATCH_INTERVALS if step >= wanted), WATCH_INTERVALS[-1])

    def save(self, owner, run):
        """Write the run to the store now (model, training state, description)."""
        self._write(owner.owner_id, run, run.checkpoint_bytes())

    def save_by_id(self, run):
        if run.owner_id is not None:
            self._write(run.owner_id, run, run.checkpoint_bytes())

    def _write(self, owner_id, run, saved):
        owner = self._owners.get(owner_id)
        if owner is None or owner.current is not run:  # a comparison's variant, or a run replaced meanwhile
            return
        model, training_state = saved
        description, text = run.description()
        try:
            self.store.save(owner_id, "current", run.run_id, description, model, training_state, text=text)
        except StoreFull as error:
            run.message = str(error)

    def keep(self, owner, run, name=None, caps=None):
        """Keep (or refresh) a stopped or finished run among the owner's kept runs, in the store too.

        Returns the names of the oldest records dropped to make room.
        """
        caps = caps or Caps.from_environment()
        with owner.lock:
            before = {record.run_id: record for record in owner.kept}
            dropped = runs.keep(owner.kept, run, caps.runs_kept, name, owner.deleted)
            for record in owner.kept:
                if before.get(record.run_id) is not record:
                    self.save_record(owner, record)
            for record_id in set(before) - {record.run_id for record in owner.kept}:
                self.store.delete(owner.owner_id, "kept", record_id)
            return dropped

    def save_record(self, owner, record):
        """Write a kept run (after it is kept, renamed or imported); StoreFull past a disk cap."""
        self.store.save(owner.owner_id, "kept", record.run_id, record.description(), record.checkpoint_bytes(), text=record.text)

    def delete_record(self, owner, record):
        with owner.lock:
            runs.delete(owner.kept, record, owner.deleted)
            self.store.delete(owner.owner_id, "kept", record.run_id)

    # the scheduler

    def _schedule(self):
        checked = 0.0
        while not self._stopping.is_set():
            self._fill_workers()
            with self._lock:
                futures = list(self._in_flight)
            if futures:
                done, _ = wait(futures, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    self._land(future)
            else:
                self._wake.wait(0.25)
                self._wake.clear()
            if time.monotonic() - checked > PRESENCE_EVERY_SECONDS:
                checked = time.monotonic()
                self._check_presence()
        with self._lock:
            futures = list(self._in_flight)
        for future in wait(futures, timeout=10).done:
            self._land(future, requeue=False)

    def _fill_workers(self):
        while True:
            with self._lock:
                if len(self._in_flight) >= workers.WORKERS or not self._queue:
                    return
                run = self._in_turn()[0]
                self._queue.remove(run)
                if not run.training:
                    continue
                now = time.monotonic()
                sample_due = now - run.sampled_at >= SAMPLE_EVERY_SECONDS
                save = now - run.saved_at >= SAVE_EVERY_SECONDS
                try:
                    first_point = run.pieces == 0 and not run.trainer.progress
                    future = workers.start_piece(run.run_id, run.trainer, run.vocab, run.target_epochs, PIECE_SECONDS, (run.prime, run.settings.seed), sample_due, save, first_point)
                except workers.WorkerLost as error:
                    run.status, run.message = "stopped", str(error)
                    continue
                run.piece_started, run.in_flight = time.perf_counter(), True
                if sample_due:
                    run.sampled_at = now
                if save:
                    run.saved_at = now
                self._in_flight[future] = run

    def _land(self, future, requeue=True):
        with self._lock:
            run = self._in_flight.pop(future)
            self._landing.add(run)
        try:
            self._land_piece(run, future, requeue)
        finally:
            with self._lock:
                self._landing.discard(run)
            self._tell_watchers()

    def _land_piece(self, run, future, requeue):
        try:
            piece = workers.result(future)
        except workers.WorkerLost as error:
            run.status, run.message, run.in_flight = "stopped", str(error), False
            self.save_by_id(run)
            return
        except Exception:  # a bug must stop its run, not the service that trains everyone's
            _log.exception("A piece of training failed")
            run.status, run.message, run.in_flight = "stopped", "Training stopped because of an error in the app. Your model is as it was: press Resume to try again.", False
            return
        ended = run.land(piece)
        if run.training and run.time_limit is not None and run.train_seconds >= run.time_limit:
            run.status = "stopped"
        if not run.training and run.keep_as is not None:
            self._keep_comparison_variant(run)
        if piece.saved is not None and run.owner_id is not None:
            self._write(run.owner_id, run, piece.saved)
        elif ended or not run.training:
            self.save_by_id(run)
        if run.training and requeue:
            with self._lock:
                self._queue.append(run)
        elif run.training:  # the server is going down mid-run: the next process says so
            self.save_by_id(run)

    def _keep_comparison_variant(self, run):
        """Once every variant of the owner's comparison has ended, keep them all, in the comparison's order."""
        owner = self._owners.get(run.owner_id)
        if owner is None:
            run.keep_as = None
            return
        with owner.lock:
            variants = [variant for _, variant in owner.comparison]
            if run in variants and any(variant.training for variant in variants):
                return
            for variant in variants if run in variants else [run]:
                if variant.keep_as is not None:
                    try:
                        self.keep(owner, variant, variant.keep_as)
                    except StoreFull as error:
                        variant.message = str(error)
                    variant.keep_as = None

    def _check_presence(self):
        if self.is_connected is None:
            return
        now = time.monotonic()
        with self._owners_lock:
            owners = list(self._owners.values())
        for owner in owners:
            owner.sessions = {session for session in owner.sessions if self.is_connected(session)}
            if owner.sessions:
                owner.away_since = None
                continue
            owner.away_since = owner.away_since or now
            run = owner.current
            if run is not None and run.training and now - owner.away_since >= self.session_ttl:
                with self._lock:
                    run.status, run.message = "paused", PAUSED_MESSAGE
                    if run in self._queue:
                        self._queue.remove(run)
                self.save_by_id(run)
                self._tell_watchers()
            idle = run is None or not run.training
            if idle and now - owner.last_seen > FORGET_IDLE_OWNERS_SECONDS:
                with self._owners_lock:
                    self._owners.pop(owner.owner_id, None)


_service = None
_service_lock = threading.Lock()


def get_service(session_ttl=60.0, is_connected=None):
    """The service of this process, made and started the first time it is asked for (the server's lifespan does it at start-up)."""
    global _service
    with _service_lock:
        if _service is None:
            caps = Caps.from_environment()
            store = RunStore(data_dir(), caps.owner_mb << 20, caps.store_mb << 20, caps.idle_days)
            _service = TrainingService(store, session_ttl, is_connected)
            _service.start()
        return _service
