"""A training run and its settings: text, model, trainer, samples and status. Plain Python, no Streamlit.

Runs are trained by the training service (playground.service), which swaps each trained copy in
under the run's lock, so readers on any page never see a half-made step.
"""

import io
import math
import secrets
import threading
import time
from dataclasses import asdict, dataclass, fields, replace

from playground.limits import Caps, check_caps
from playground.plain_text import as_sentence
from rnn_core import CharRNN, CheckpointError, DivergenceError, Trainer, Vocab, load, restore_training_state, to_bytes, training_state_to_bytes

MAX_CHART_POINTS = 600
SAMPLES_KEPT = 50  # the newest samples a saved run keeps


def new_run_id():
    """An id no other run has, on any server, and no one can guess (128 random bits)."""
    return secrets.token_hex(16)


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
    "seed": Limit(0, 2**31 - 1, "Random seed for the initial weights, dropout and the samples."),
    "lr_final": Limit(0.001, 1.0, "Where a decaying learning rate ends, as a fraction of the learning rate (0.1: a tenth)."),
    "warmup": Limit(0, 100_000, "Steps over which the learning rate rises from near 0 to its value at the start (0: none)."),
    "dropout": Limit(0.0, 0.9, "Share of each layer's outputs dropped at random in each training step: the classic remedy when a model memorises."),
}
# Displayed names; Streamlit also writes them into shared links, so they stay short.
CELL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
OPTIMIZER_NAMES = {"adam": "Adam", "adagrad": "Adagrad", "rmsprop": "RMSProp", "momentum": "Momentum", "sgd": "SGD"}
SCHEDULE_NAMES = {"constant": "Constant", "linear": "Linear decay", "cosine": "Cosine decay"}
CHOICES = {"cell": CELL_NAMES, "optimizer": OPTIMIZER_NAMES, "lr_schedule": SCHEDULE_NAMES}  # setting -> {value: shown name}


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
    lr_schedule: str = "constant"
    lr_final: float = 0.1
    warmup: int = 0
    dropout: float = 0.0

    # Changing any of these after training means a different run: its model, or the course of its learning rate.
    MODEL_FIELDS = ("cell", "hidden_size", "num_layers", "seed", "dropout", "lr_schedule", "lr_final", "warmup")

    def check(self):
        """Raise ValueError naming the first setting outside its range."""
        if self.cell not in CELL_NAMES:
            raise ValueError(f"Unknown cell {self.cell!r}: choose RNN, LSTM or GRU.")
        if self.optimizer not in OPTIMIZER_NAMES:
            raise ValueError(f"Unknown optimiser {self.optimizer!r}.")
        if self.lr_schedule not in SCHEDULE_NAMES:
            raise ValueError(f"Unknown learning-rate schedule {self.lr_schedule!r}: choose {', '.join(SCHEDULE_NAMES.values())}.")
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
    return {
        "lr": "Learning rate", "bptt_horizon": "BPTT horizon", "val_fraction": "Validation fraction", "seq_len": "Sequence length",
        "lr_schedule": "Learning-rate schedule", "lr_final": "Final learning rate (fraction)", "warmup": "Warm-up steps",
    }.get(
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
    """One run: its text, settings, model, trainer, samples and status.

    The training service (playground.service) trains it in a worker and swaps each trained copy in
    with `land`, under `lock`: readers on a page never see a half-made step.
    """

    def __init__(self, text, settings, preset=None, caps=None, model=None):
        settings.check()
        check_text(text)
        check_caps(text, settings, caps or Caps.from_environment())
        self.text, self.settings, self.preset = text, settings, preset
        self.run_id = new_run_id()
        self.owner_id = None  # set by the service when it first trains the run
        self.vocab = Vocab.from_text(text)
        try:
            if model is None:
                model = CharRNN(len(self.vocab), settings.hidden_size, settings.cell, settings.num_layers, seed=settings.seed, bptt_horizon=settings.bptt_horizon or None, dropout=settings.dropout)
            self.trainer = Trainer(
                model,
                self.vocab.encode(text),
                settings.seq_len,
                settings.batch_size,
                settings.optimizer,
                settings.lr,
                settings.clip,
                settings.val_fraction,
                lr_schedule=settings.lr_schedule,
                lr_final=settings.lr_final,
                warmup=settings.warmup,
            )
        except ValueError as error:  # the engine's words, e.g. too few characters for the batch
            raise ValueError(as_sentence(error)) from None
        steps = self.trainer.steps_per_epoch
        self.trainer.report_every = max(1, steps // 20) if steps >= 40 else None  # finer curve points in long epochs
        self.target_epochs = settings.epochs
        self.train_seconds = 0.0
        self.samples = []  # (epoch, text) pairs
        self.status = "ready"  # ready, training, stopped, paused, done, diverged
        self.message = ""
        self.lock = threading.Lock()
        # the service's bookkeeping
        self.pieces = 0
        self.served_seconds = 0.0  # the workers' CPU seconds given to it, from the level of the queue it joined
        self.in_flight = False
        self.sampled_at = self.saved_at = -math.inf
        self.piece_started = None
        self.time_limit = None  # seconds of training, for a comparison's variant
        self.keep_as = None  # the name a comparison's variant is kept under when it ends

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

    @property
    def prime(self):
        """What samples start from: the text's first character."""
        return self.text[0]

    def start(self):
        self.status = "training"
        self.message = ""

    def stop(self):
        """Stop training; the service lets the piece in flight land first. The model is kept."""
        if self.status == "training":
            self.status = "stopped"

    def resume(self, epochs=None, lr=None, clip=None, caps=None):
        """Continue the same run, to `epochs` in all or, when already there, for that many more.

        The run's settings take the new target, learning rate and clip; ValueError if they pass a cap.
        The caller (the service) queues it for training.
        """
        epochs = epochs or self.target_epochs
        target = epochs if epochs > self.epoch else self.epoch + epochs
        settings = replace(self.settings, epochs=target, lr=self.settings.lr if lr is None else lr, clip=self.settings.clip if clip is None else clip)
        check_caps(self.text, settings.check(), caps or Caps.from_environment())
        with self.lock:
            self.settings, self.target_epochs = settings, target
            self.trainer.optimizer.lr, self.trainer.clip = settings.lr, settings.clip
            self.message = ""

    def land(self, piece):
        """Swap in a piece's trained copy (playground.workers.Piece); True when the run ended with it."""
        with self.lock:
            trainer = piece.trainer
            # a Resume while the piece trained set a new learning rate and clip: they hold
            trainer.optimizer.lr, trainer.clip = self.settings.lr, self.settings.clip
            self.trainer = trainer
            self.pieces += 1
            self.served_seconds += piece.cpu_seconds
            self.in_flight = False
            if self.piece_started is not None:
                self.train_seconds += time.perf_counter() - self.piece_started
            if piece.sample is not None and not (self.samples and self.samples[-1][0] == piece.sample[0]):
                self.samples.append(piece.sample)
                del self.samples[:-SAMPLES_KEPT]  # the page shows the newest
            if piece.outcome == "diverged":
                self.status, self.message = "diverged", as_sentence(piece.message)
                return True
            if piece.outcome == "done" and self.status == "training":
                self.status = "done"
                return True
            return False

    def step_in_detail(self):
        """One training step here, not in a worker, with its numbers (Trainer.step_in_detail).

        For Step mode on short texts, while the run does not train. Returns None if the step
        diverged (status and message say so).
        """
        with self.lock:
            try:
                details = self.trainer.step_in_detail()
            except DivergenceError as error:
                self.status, self.message = "diverged", as_sentence(error)
                return None
            self.status = "done" if self.epoch >= self.target_epochs else "stopped"
            return details

    def checkpoint_bytes(self):
        """(model .npz, training state) as the run store keeps them, made under the lock."""
        with self.lock:
            return to_bytes(self.model, self.vocab), training_state_to_bytes(self.trainer)

    def description(self):
        """(JSON-friendly description, text or None for a preset's) for the run store."""
        with self.lock:
            description = {
                "settings": self.settings.as_dict(),
                "preset": self.preset,
                "target_epochs": self.target_epochs,
                "train_seconds": self.train_seconds,
                "samples": self.samples[-SAMPLES_KEPT:],
                "status": self.status,
                "message": self.message,
                "figures": _figures(self.epoch, self.history),  # what a workshop room's board shows (playground.rooms): it reads no blobs
            }
        return description, None if self.preset is not None else self.text

    @classmethod
    def from_saved(cls, row):
        """A run as the store kept it (RunStore.runs): the model read through the engine's safe loader."""
        from playground.presets import PRESETS, preset_text

        description = row["description"]
        try:
            preset = description["preset"]
            text = preset_text(preset) if preset in PRESETS else row["text"]
            checkpoint = load(io.BytesIO(row["model"]))
            run = cls(text, Settings(**description["settings"]), preset=preset, caps=Caps(text_chars=len(text), step_seconds=math.inf, training_chars=math.inf), model=checkpoint.model)
            restore_training_state(run.trainer, row["training_state"])
        except (CheckpointError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"the saved run {row['run_id']} cannot be read ({type(error).__name__}: {error})") from None
        run.run_id = row["run_id"]
        run.target_epochs = int(description["target_epochs"])
        run.train_seconds = float(description["train_seconds"])
        run.samples = [(int(epoch), str(sampled)) for epoch, sampled in description["samples"]]
        run.status, run.message = str(description["status"]), str(description["message"])
        return run

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
        """Loss curve points, downsampled: {"train": [(epoch, nats, lr)], "val": [(epoch, nats, lr)]}, lr the learning rate then."""
        val = [(s.epoch, s.val_loss, s.lr) for s in self.history if s.val_loss is not None]
        return {"train": _thinned(sorted(self.trainer.progress)), "val": _thinned(val)}


def _figures(epochs, history):
    """Epochs trained and the best losses so far in bits per character (None before an epoch, or without validation)."""
    train = [stats.train_bpc for stats in history if math.isfinite(stats.train_bpc)]
    val = [stats.val_bpc for stats in history if stats.val_bpc is not None and math.isfinite(stats.val_bpc)]
    return {"epochs": epochs, "best_train_bpc": min(train, default=None), "best_val_bpc": min(val, default=None)}


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
            value = parse_link_value(name, raw)
            replace(defaults, **{name: value}).check()
        except (KeyError, ValueError, TypeError):
            refused.append(name)
            continue
        locked[name] = value
    return locked, "text" in names, refused


def link_value(name, value):
    """A setting's value as a link carries it (cell, optimiser and schedule by their shown names)."""
    if name in CHOICES:
        return CHOICES[name][value]
    return str(value)


def parse_link_value(name, raw):
    """A setting from its link form (`link_value`): KeyError for an unknown choice, ValueError for a bad number."""
    if name in CHOICES:
        return {shown: key for key, shown in CHOICES[name].items()}[raw]
    kind = type(getattr(Settings(), name))
    value = float(raw)
    if kind is int and not value.is_integer():
        raise ValueError(f"{name} must be a whole number")
    return kind(value)
