"""Training: parallel streams over a text, truncated BPTT windows, validation, live reports.

The trainer is a resumable loop: `train()` returns when the epochs are done, when it is asked to
stop, or when a step or time budget runs out, and calling it again continues exactly where it
left off (same model, optimiser state, carried hidden state and history).
"""

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from .model import check_positive_int
from .optim import check_learning_rate, clip_by_global_norm, make_optimizer

LN2 = math.log(2)


class DivergenceError(RuntimeError):
    """Training blew up; the trainer has restored the last good parameters."""


@dataclass
class EpochStats:
    epoch: int
    train_loss: float  # mean cross-entropy, nats per character
    val_loss: float | None
    train_bpc: float  # bits per character
    val_bpc: float | None
    train_perplexity: float
    val_perplexity: float | None
    grad_norm: float  # mean gradient norm before clipping
    grad_norm_max: float
    lr: float
    steps: int
    chars: int
    chars_per_sec: float
    seconds: float  # this epoch: training and validation
    elapsed: float  # all epochs so far

    def to_dict(self):
        return asdict(self)


def split_validation(ids, val_fraction):
    """(N,) ids -> (train, val): the last val_fraction of the text is held out."""
    if not 0 <= val_fraction < 1 or math.isnan(val_fraction):
        raise ValueError(f"the validation fraction must be at least 0 and below 1, not {val_fraction!r}")
    val_size = int(round(len(ids) * val_fraction))
    if val_fraction > 0 and val_size < 2:
        raise ValueError(
            f"a validation fraction of {val_fraction:g} leaves fewer than 2 characters of this "
            f"{len(ids)}-character text for validation: use a longer text or a validation fraction of 0"
        )
    return ids[: len(ids) - val_size], ids[len(ids) - val_size :]


def make_streams(ids, batch_size):
    """(N,) ids -> (B, N // B): B contiguous pieces of the text, read side by side (as char-rnn does)."""
    stream_len = len(ids) // batch_size
    return ids[: batch_size * stream_len].reshape(batch_size, stream_len)


def windows(streams, seq_len):
    """(inputs, targets) pairs of (B, <= seq_len) slices walking the streams; targets are shifted by one."""
    last = streams.shape[1] - 1
    return [(streams[:, start : min(start + seq_len, last)], streams[:, start + 1 : min(start + seq_len, last) + 1]) for start in range(0, last, seq_len)]


def evaluation_windows(ids, seq_len, batch_size):
    """Windows covering (N,) ids for evaluation, in up to batch_size streams of at least one window."""
    streams = max(1, min(batch_size, (len(ids) - 1) // seq_len))
    return windows(make_streams(ids, streams), seq_len)


def evaluate(model, windows_or_ids, seq_len=64, batch_size=32):
    """Mean cross-entropy (nats per character) of the model over a text, carrying the state.

    Takes (N,) ids, or windows as made by evaluation_windows.
    """
    if isinstance(windows_or_ids, np.ndarray):
        windows_or_ids = evaluation_windows(windows_or_ids, seq_len, batch_size)
    state, total, count = None, 0.0, 0
    for inputs, targets in windows_or_ids:
        loss, state = model.loss(inputs, targets, state)
        total += loss * inputs.size
        count += inputs.size
    return total / count


class Trainer:
    """Trains a CharRNN on an encoded text (N,) with one of the optimisers."""

    def __init__(self, model, ids, seq_len=64, batch_size=32, optimizer="adam", lr=2e-3, clip=5.0, val_fraction=0.1, report_every=None):
        self.model = model
        self.seq_len = check_positive_int("seq_len", seq_len)
        self.batch_size = check_positive_int("batch_size", batch_size)
        if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not clip >= 0 or math.isinf(clip):
            raise ValueError(f"clip must be a number of at least 0 (0 means no clipping), not {clip!r}")
        self.clip = float(clip)
        self.report_every = None if report_every is None else check_positive_int("report_every", report_every)
        ids = np.asarray(ids)
        if ids.ndim != 1 or len(ids) < 2:
            raise ValueError("the text must hold at least 2 characters")
        train_ids, val_ids = split_validation(ids, val_fraction)
        if len(train_ids) < 2 * self.batch_size:
            raise ValueError(
                f"the training text has {len(train_ids)} characters, too few for {self.batch_size} parallel "
                f"streams of at least 2: lower the batch size to {max(1, len(train_ids) // 2)} or less"
            )
        self.val_fraction = float(val_fraction)
        self._train_streams, self._val_ids = make_streams(train_ids, self.batch_size), val_ids
        self._make_windows()
        self.optimizer = optimizer if not isinstance(optimizer, str) else make_optimizer(optimizer, model.num_params, check_learning_rate(lr), model.dtype)
        # Cross-entropy starts near ln V; far above it the run has blown up.
        self.divergence_limit = max(4 * math.log(max(model.vocab_size, 2)), math.log(max(model.vocab_size, 2)) + 8)
        self.history = []  # EpochStats of every finished epoch
        self.progress = []  # (fractional epoch, running train loss) inside epochs, for live curves
        self.stop_requested = False
        self._good_params = model.flat_params.copy()
        self._good_optimizer = self._copy_optimizer_state()
        self._start_epoch()

    def _make_windows(self):
        self.train_windows = windows(self._train_streams, self.seq_len)
        self.val_windows = evaluation_windows(self._val_ids, self.seq_len, self.batch_size) if len(self._val_ids) else []

    def __getstate__(self):
        # Windows are views of the streams; pickled, each would become a copy of its own.
        return {key: value for key, value in self.__dict__.items() if key not in ("train_windows", "val_windows")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._make_windows()

    @property
    def steps_per_epoch(self):
        return len(self.train_windows)

    @property
    def epoch(self):
        """Finished epochs."""
        return len(self.history)

    @property
    def epoch_fraction(self):
        """Finished epochs plus the finished part of the current one."""
        return self.epoch + self.window / self.steps_per_epoch

    def _start_epoch(self):
        self.window = 0
        self.state = self.model.initial_state(self.batch_size)
        self._sums = {"loss": 0.0, "chars": 0, "grad_norm": 0.0, "grad_norm_max": 0.0, "seconds": 0.0}

    def _copy_optimizer_state(self):
        return {key: np.copy(value) for key, value in self.optimizer.state().items()}

    def stop(self):
        """Ask a running `train()` to return after its current step."""
        self.stop_requested = True

    def step(self):
        """One window: forward, backward, clip, update. Returns (loss, gradient norm before clipping)."""
        loss, norm, _ = self._step(diagnostics=False)
        return loss, norm

    def step_in_detail(self):
        """One step like `step`, showing what it did (for teaching). Returns a dict:

        inputs, targets (B, T) ids of the window; probs (B, T, V) the predicted next-character
        distributions before the update; step_losses (T,) and hidden_grad_norms (L, T), the norm of
        the gradient of the window's loss with respect to each hidden state, both from the backward
        pass that makes the update; loss; grad_norm before clipping; updates {name: array}, what
        the optimiser added to each parameter, with update_norms and param_norms {name: float}.
        The epoch is finished when its last window is done, as `train` does.
        """
        inputs, targets = self.train_windows[self.window]
        probs = self.model.forward(inputs, self.state).probs
        before = self.model.flat_params.copy()
        loss, norm, diagnostics = self._step(diagnostics=True)
        updates = self.model.split(self.model.flat_params - before)
        if self.window == self.steps_per_epoch:
            self._finish_epoch()
        return {
            "inputs": inputs,
            "targets": targets,
            "probs": probs,
            "loss": loss,
            "grad_norm": norm,
            **diagnostics,
            "updates": updates,
            "update_norms": {name: float(np.linalg.norm(update)) for name, update in updates.items()},
            "param_norms": {name: float(np.linalg.norm(param)) for name, param in self.model.params.items()},
        }

    def _step(self, diagnostics):
        inputs, targets = self.train_windows[self.window]
        started = time.perf_counter()
        loss, grads, new_state, *details = self.model.loss_and_flat_grads(inputs, targets, self.state, diagnostics)
        norm = clip_by_global_norm(grads, self.clip)
        if not (math.isfinite(loss) and math.isfinite(norm)) or loss > self.divergence_limit:
            message = (
                f"training diverged at epoch {self.epoch + 1}, step {self.window + 1}: the loss became {loss:.4g} "
                f"(it starts near {math.log(self.model.vocab_size):.2f}). The learning rate {self.optimizer.lr:g} is "
                f"probably too high for {self.optimizer.name}; lower it and train again. "
                "The last good parameters were restored."
            )
            self._restore_last_good()
            raise DivergenceError(message)
        np.copyto(self._good_params, self.model.flat_params)
        for key, value in self.optimizer.state().items():
            np.copyto(self._good_optimizer[key], value)
        self.optimizer.step(self.model.flat_params, grads)
        self.state = new_state
        chars = inputs.size
        sums = self._sums
        sums["loss"] += loss * chars
        sums["chars"] += chars
        sums["grad_norm"] += norm
        sums["grad_norm_max"] = max(sums["grad_norm_max"], norm)
        sums["seconds"] += time.perf_counter() - started
        self.window += 1
        return loss, norm, details[0] if details else None

    def _restore_last_good(self):
        np.copyto(self.model.flat_params, self._good_params)
        self.optimizer.load_state(self._good_optimizer)
        self._start_epoch()

    def validation_loss(self):
        """Mean cross-entropy (nats per character) over the held-out text, or None without one."""
        return evaluate(self.model, self.val_windows) if self.val_windows else None

    def _finish_epoch(self):
        started = time.perf_counter()
        val_loss = self.validation_loss()
        sums = self._sums
        train_loss = sums["loss"] / sums["chars"]
        seconds = sums["seconds"] + time.perf_counter() - started
        elapsed = (self.history[-1].elapsed if self.history else 0.0) + seconds
        stats = EpochStats(
            epoch=self.epoch + 1,
            train_loss=train_loss,
            val_loss=val_loss,
            train_bpc=train_loss / LN2,
            val_bpc=None if val_loss is None else val_loss / LN2,
            train_perplexity=math.exp(min(train_loss, 700)),
            val_perplexity=None if val_loss is None else math.exp(min(val_loss, 700)),
            grad_norm=sums["grad_norm"] / self.steps_per_epoch,
            grad_norm_max=sums["grad_norm_max"],
            lr=self.optimizer.lr,
            steps=self.steps_per_epoch,
            chars=sums["chars"],
            chars_per_sec=sums["chars"] / max(sums["seconds"], 1e-9),
            seconds=seconds,
            elapsed=elapsed,
        )
        self.history.append(stats)
        self.progress.append((float(stats.epoch), train_loss))
        self._start_epoch()
        return stats

    def train(self, epochs, max_steps=None, max_seconds=None, callback=None):
        """Train until `epochs` epochs in all are finished, a stop, or a budget runs out.

        callback(event) is called after every epoch with {"kind": "epoch", **EpochStats} and, when
        `report_every` is set, every that many steps with {"kind": "progress", "epoch": fraction,
        "train_loss": running mean, "grad_norm", "chars_per_sec"}; returning True stops training.
        Returns why it stopped: "done", "stopped", "steps" or "time". Raises DivergenceError.
        """
        epochs = check_positive_int("epochs", epochs)
        self.stop_requested = False
        deadline = None if max_seconds is None else time.perf_counter() + max_seconds
        steps_done = 0
        while self.epoch < epochs:
            if self.stop_requested:
                return "stopped"
            if max_steps is not None and steps_done >= max_steps:
                return "steps"
            if deadline is not None and time.perf_counter() >= deadline:
                return "time"
            _, norm = self.step()
            steps_done += 1
            if self.window == self.steps_per_epoch:
                event = {"kind": "epoch", **self._finish_epoch().to_dict()}
            elif self.report_every and self.window % self.report_every == 0:
                event = self._progress_event(norm)
            else:
                continue
            if callback is not None and callback(event):
                self.stop_requested = True
        return "done"

    def _progress_event(self, norm):
        sums = self._sums
        running = sums["loss"] / sums["chars"]
        self.progress.append((self.epoch_fraction, running))
        return {
            "kind": "progress",
            "epoch": self.epoch_fraction,
            "train_loss": running,
            "grad_norm": norm,
            "chars_per_sec": sums["chars"] / max(sums["seconds"], 1e-9),
        }
