"""What one browser session holds: the settings and the training run. Plain Python, no Streamlit.

A `TrainingRun` is advanced in bounded time slices (`advance`) by the Train page's timer
fragment, each slice made of short pieces trained in a worker process (`playground.workers`): Stop
acts when the current piece ends, and a closed tab simply stops asking for more. A piece's result
is swapped in under the run's lock, so readers on other reruns never see a half-made step.
"""

import itertools
import math
import threading
import time
from dataclasses import asdict, dataclass, fields, replace

from playground import workers
from playground.limits import Caps, check_caps
from playground.plain_text import as_sentence
from rnn_core import CharRNN, DivergenceError, Trainer, Vocab, sample

SAMPLE_LENGTH = 200
MAX_CHART_POINTS = 600
SAMPLE_EVERY_SECONDS = 1.0
# Training slots shared by every session of this server process. A session trains only while it
# holds one, so a full room takes turns instead of slowing everyone, and every page, to a crawl.
TRAINING_SLOTS = threading.BoundedSemaphore(workers.WORKERS)
_run_ids = itertools.count(1)


def new_run_id():
    """A number no other run of this server has."""
    return next(_run_ids)


@dataclass(frozen=True)
class Limit:
    low: float
    high: float
    help: str


# Every setting's range and help text; the Train page builds its widgets from these.
LIMITS = {
    "hidden_size": Limit(4, 512, "Units in each recurrent layer: more remember more, but train slower."),
    "num_layers": Limit(1, 3, "Recurrent layers stacked on each other."),
    "seq_len": Limit(2, 256, "Characters per training window: how far back the gradient flows."),
    "batch_size": Limit(1, 128, "Pieces of the text read side by side in each step."),
    "lr": Limit(1e-5, 10.0, "How big each update is. Too high and training diverges."),
    "clip": Limit(0.0, 100.0, "Largest gradient norm allowed before an update (0: no clipping)."),
    "epochs": Limit(1, 5000, "Passes over the training text."),
    "val_fraction": Limit(0.0, 0.5, "The last part of the text held out to measure generalisation."),
    "bptt_horizon": Limit(0, 256, "Steps the gradient flows back (0: the whole window; 1: no BPTT, the notebook's mistake)."),
    "seed": Limit(0, 2**31 - 1, "Random seed for the initial weights and the samples."),
}
# Displayed names; Streamlit also writes them into shared links, so they stay short.
CELL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
OPTIMIZER_NAMES = {"adam": "Adam", "adagrad": "Adagrad", "rmsprop": "RMSProp", "momentum": "Momentum", "sgd": "SGD"}


@dataclass(frozen=True)
class Settings:
    cell: str = "gru"
    hidden_size: int = 128
    num_layers: int = 1
    seq_len: int = 48
    batch_size: int = 16
    optimizer: str = "adam"
    lr: float = 0.004
    clip: float = 5.0
    epochs: int = 200
    val_fraction: float = 0.1
    bptt_horizon: int = 0
    seed: int = 0

    # Changing any of these after training means a different model.
    MODEL_FIELDS = ("cell", "hidden_size", "num_layers", "seed")

    def check(self):
        """Raise ValueError naming the first setting outside its range."""
        if self.cell not in CELL_NAMES:
            raise ValueError(f"Unknown cell {self.cell!r}: choose RNN, LSTM or GRU.")
        if self.optimizer not in OPTIMIZER_NAMES:
            raise ValueError(f"Unknown optimiser {self.optimizer!r}.")
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and limit.low <= value <= limit.high):
                raise ValueError(f"{label(name)} must be between {limit.low:g} and {limit.high:g}, not {value!r}.")
        return self

    def as_dict(self):
        return asdict(self)

    def changed_model_fields(self, other):
        return [label(name) for name in self.MODEL_FIELDS if getattr(self, name) != getattr(other, name)]


def label(name):
    return {"lr": "Learning rate", "bptt_horizon": "BPTT horizon", "val_fraction": "Validation fraction", "seq_len": "Sequence length"}.get(
        name, name.replace("_", " ").capitalize()
    )


SETTING_NAMES = [field.name for field in fields(Settings)]


def describe_text(text):
    """Length, vocabulary size and the distinct characters of a text, for display."""
    chars = sorted(set(text))
    return {"length": len(text), "vocab_size": len(chars), "chars": chars}


def check_text(text):
    """Raise ValueError with a message in the user's words when the text cannot be trained on."""
    if not text or not text.strip():
        raise ValueError("The training text is empty: type, paste, upload or pick a text first.")
    if len(set(text)) < 2:
        raise ValueError("The text uses a single character: there is nothing to predict. Give it at least two different characters.")


class LoadedModel:
    """A model uploaded from a file: it can generate and be inspected, not resume training."""

    def __init__(self, checkpoint, name):
        self.model, self.vocab, self.metadata = checkpoint
        self.name = name
        self.lock = threading.Lock()


class TrainingRun:
    """One run: its text, settings, model, trainer, samples and status."""

    def __init__(self, text, settings, preset=None, caps=None):
        settings.check()
        check_text(text)
        check_caps(text, settings, caps or Caps.from_environment())
        self.text, self.settings, self.preset = text, settings, preset
        self.run_id = new_run_id()
        self.vocab = Vocab.from_text(text)
        try:
            model = CharRNN(len(self.vocab), settings.hidden_size, settings.cell, settings.num_layers, seed=settings.seed, bptt_horizon=settings.bptt_horizon or None)
            self.trainer = Trainer(
                model,
                self.vocab.encode(text),
                settings.seq_len,
                settings.batch_size,
                settings.optimizer,
                settings.lr,
                settings.clip,
                settings.val_fraction,
            )
        except ValueError as error:  # the engine's words, e.g. too few characters for the batch
            raise ValueError(as_sentence(error)) from None
        steps = self.trainer.steps_per_epoch
        self.trainer.report_every = max(1, steps // 20) if steps >= 40 else None  # finer curve points in long epochs
        self.target_epochs = settings.epochs
        self.train_seconds = 0.0
        self.samples = []  # (epoch, text) pairs
        self.status = "ready"  # ready, training, stopped, done, diverged
        self.message = ""
        self.lock = threading.Lock()
        self._advancing = threading.Lock()  # one piece in flight at a time
        self.waiting = False  # for a free training slot
        self._sampled_at = -math.inf

    @property
    def model(self):
        return self.trainer.model

    @property
    def epoch(self):
        return self.trainer.epoch

    @property
    def history(self):
        return self.trainer.history

    @property
    def training(self):
        return self.status == "training"

    def start(self):
        self.status = "training"

    def stop(self):
        """End training when the piece in flight ends (within `redraw_every`); the model is kept."""
        if self.status == "training":
            self.status = "stopped"

    def resume(self, epochs=None, lr=None, clip=None, caps=None):
        """Continue the same run, to `epochs` in all or, when already there, for that many more.

        The run's settings take the new target, learning rate and clip; ValueError if they pass a cap.
        """
        with self._advancing:  # a piece still in flight would bring back the old settings
            epochs = epochs or self.target_epochs
            target = epochs if epochs > self.epoch else self.epoch + epochs
            settings = replace(self.settings, epochs=target, lr=self.settings.lr if lr is None else lr, clip=self.settings.clip if clip is None else clip)
            check_caps(self.text, settings.check(), caps or Caps.from_environment())
            self.settings, self.target_epochs = settings, target
            self.trainer.optimizer.lr, self.trainer.clip = settings.lr, settings.clip
            self.message = ""
            self.status = "training"

    def step_in_detail(self):
        """One training step here, not in a worker, with its numbers (Trainer.step_in_detail).

        For Step mode on short texts. Returns None if the step diverged (status and message say so).
        """
        with self._advancing, self.lock:
            try:
                details = self.trainer.step_in_detail()
            except DivergenceError as error:
                self.status, self.message = "diverged", as_sentence(error)
                return None
            self.status = "done" if self.epoch >= self.target_epochs else "stopped"
            return details

    def advance(self, seconds, redraw=None, redraw_every=0.5):
        """Train for up to `seconds`, in pieces of `redraw_every`, calling redraw() between them.

        A sample from the latest epoch is taken at most once a second: the page shows only the
        newest one. While every training slot of the server is taken, it waits up to `seconds` and
        sets `waiting`.
        """
        if self.status != "training":
            return
        self.waiting = not TRAINING_SLOTS.acquire(timeout=seconds)
        if self.waiting:
            return
        try:
            with self._advancing:
                self._train_slice(seconds, redraw, redraw_every)
        finally:
            TRAINING_SLOTS.release()

    def _train_slice(self, seconds, redraw, redraw_every):
        deadline = time.perf_counter() + seconds
        piece = self._start_piece(deadline, redraw_every)
        while piece is not None:
            outcome = self._land(piece)
            if outcome is None:
                return
            # the next piece trains while this one's sample and redraw are made
            piece = self._start_piece(deadline, redraw_every) if self.status == "training" else None
            if outcome != "time" or time.perf_counter() - self._sampled_at >= SAMPLE_EVERY_SECONDS:
                with self.lock:
                    self._take_sample()
            if redraw is not None and piece is not None:
                try:
                    redraw()
                except BaseException:
                    # Stop, another page or a closed tab end the page's run here: keep the piece
                    # already sent, and free its worker before the training slot goes
                    self._land(piece)
                    raise

    def _land(self, piece):
        """Wait for a piece and swap its trainer in. Its outcome, or None when the run ended in an error."""
        started, result = piece
        try:
            trainer, outcome, message = result()
        except workers.WorkerLost as error:
            self.status, self.message = "stopped", str(error)
            return None
        with self.lock:
            self.trainer = trainer
            self.train_seconds += time.perf_counter() - started
            if outcome == "diverged":
                self.status, self.message = "diverged", as_sentence(message)
                return None
            if outcome in ("done", "stopped") and self.status == "training":
                self.status = outcome
        return outcome

    def _start_piece(self, deadline, redraw_every):
        """(start time, result function) of the next piece, or None when the slice is over."""
        now = time.perf_counter()
        if now >= deadline:
            return None
        try:
            return now, workers.start_piece(self.run_id, self.trainer, self.target_epochs, min(redraw_every, deadline - now))
        except workers.WorkerLost as error:
            self.status, self.message = "stopped", str(error)
            return None

    def _take_sample(self):
        self._sampled_at = time.perf_counter()
        if self.epoch == 0 or (self.samples and self.samples[-1][0] == self.epoch):
            return
        prime = self.text[0]
        text = prime + sample(self.model, self.vocab, prime, SAMPLE_LENGTH, temperature=0.8, seed=self.settings.seed + self.epoch)
        self.samples.append((self.epoch, text))

    @property
    def trained_for(self):
        """How far the run has trained, in words: "3 epochs", "2 steps", "3 epochs and 2 steps"."""
        epochs, steps = self.epoch, self.trainer.window
        parts = [f"{epochs:,} epoch{'s' if epochs != 1 else ''}"] if epochs or not steps else []
        if steps:
            parts.append(f"{steps:,} step{'s' if steps != 1 else ''}")
        return " and ".join(parts)

    @property
    def seconds_per_epoch(self):
        return self.history[-1].elapsed / len(self.history) if self.history else None

    @property
    def eta_seconds(self):
        per_epoch = self.seconds_per_epoch
        if per_epoch is None:
            return None
        return max(0.0, (self.target_epochs - self.trainer.epoch_fraction) * per_epoch)

    def curve(self):
        """Loss curve points, downsampled: {"train": [(epoch, nats)], "val": [(epoch, nats)]}."""
        val = [(s.epoch, s.val_loss) for s in self.history if s.val_loss is not None]
        return {"train": _thinned(sorted(self.trainer.progress)), "val": _thinned(val)}


def _thinned(points):
    """At most MAX_CHART_POINTS (+1) of `points`, evenly spaced, the last one always kept."""
    if len(points) <= MAX_CHART_POINTS:
        return points
    stride = math.ceil(len(points) / MAX_CHART_POINTS)
    return points[::stride] + ([points[-1]] if (len(points) - 1) % stride else [])


def _memory_text():
    """Lines like "b......B": the last letter repeats the first, six dots later."""
    letters = "abcabbcacbacbbacabca" * 3
    return "".join(f"{letter}......{letter.upper()}\n" for letter in letters)


# name -> (text, settings, epochs): small tasks that show what backpropagation through time does
BPTT_TASKS = {
    "help": ("help!", dict(cell="rnn", hidden_size=100, seq_len=4, batch_size=1, optimizer="adagrad", lr=0.1), 300),
    "memory": (_memory_text(), dict(cell="rnn", hidden_size=32, seq_len=18, batch_size=4, optimizer="adam", lr=0.01), 150),
}


def bptt_experiment(task):
    """Train the task twice, with full BPTT and with a horizon of 1: {label: per-epoch train losses}."""
    text, options, epochs = BPTT_TASKS[task]
    curves = {}
    for label_, horizon in (("full BPTT", 0), ("horizon 1 (no BPTT)", 1)):
        run = TrainingRun(text, Settings(**options, epochs=epochs, val_fraction=0.0, bptt_horizon=horizon))
        run.trainer.train(epochs)
        curves[label_] = [stats.train_loss for stats in run.history]
    return curves


LOCKABLE = ("text", *SETTING_NAMES)


def locked_from_link(params):
    """What a presenter link locks: ({setting: value}, refused names) from its raw parameters.

    `locked` lists names ("text", setting names, or "all"); each locked setting takes the link's
    value, or the default when the link has none. A value that is not valid is not locked.
    """
    names = [name.strip() for name in params.get("locked", "").split(",") if name.strip()]
    if "all" in names:
        names = list(LOCKABLE)
    defaults = Settings()
    locked, refused = {}, [name for name in names if name not in LOCKABLE]
    for name in (name for name in names if name in SETTING_NAMES):
        raw = params.get(name)
        if raw is None:
            locked[name] = getattr(defaults, name)
            continue
        try:
            value = _parse_setting(name, raw)
            replace(defaults, **{name: value}).check()
        except (KeyError, ValueError, TypeError):
            refused.append(name)
            continue
        locked[name] = value
    return locked, "text" in names, refused


def link_value(name, value):
    """A setting's value as a link carries it (cell and optimiser by their shown names)."""
    if name == "cell":
        return CELL_NAMES[value]
    if name == "optimizer":
        return OPTIMIZER_NAMES[value]
    return str(value)


def _parse_setting(name, raw):
    if name == "cell":
        return {shown: key for key, shown in CELL_NAMES.items()}[raw]
    if name == "optimizer":
        return {shown: key for key, shown in OPTIMIZER_NAMES.items()}[raw]
    kind = type(getattr(Settings(), name))
    value = float(raw)
    if kind is int and not value.is_integer():
        raise ValueError(f"{name} must be a whole number")
    return kind(value)
