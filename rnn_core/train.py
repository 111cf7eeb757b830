"""Training: parallel streams over a text, truncated BPTT windows, validation, live reports.

The trainer is a resumable loop: `train()` returns when the epochs are done, when it is asked to
stop, or when a step or time budget runs out, and calling it again continues exactly where it
left off (same model, optimiser state, carried hidden state, history, learning-rate schedule and
dropout generator).

A learning-rate schedule decays over the epochs that `train(epochs)` was given: train(20) after
train(10) stretches the decay to end at epoch 20, so the rate rises a little where it stopped.
"""

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from .model import check_positive_int
from .optim import check_learning_rate, clip_by_global_norm, make_optimizer
from .schedule import check_schedule, learning_rate_factor

LN2 = math.log(2)
# Divergence is judged against ln V, the loss of guessing every character uniformly, which an
# untrained model starts near. Healthy runs can overshoot it for a few steps and come back: up to
# 3.6 nats on "help!" (4-character windows, Adagrad's large first steps) over 120 seeds and cells.
# Runs that blow up shoot tens of nats above it (the rhyme's GRU at learning rate 10: 34 nats with
# SGD, 110 with Adam). A margin of 5 nats sits between the two.
DIVERGENCE_MARGIN = 5.0


class DivergenceError(RuntimeError):
    """Training blew up; the trainer has restored the newest parameters that beat guessing uniformly
    (the untrained ones if none did yet), with their optimiser state."""


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
    lr: float  # at the epoch's last step
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
    """Trains a CharRNN on an encoded text (N,) with one of the optimisers.

    lr is the base learning rate, `optimizer.lr` (it may be changed between steps); each step
    takes it times the schedule's factor (see schedule.learning_rate_factor): lr_schedule
    "constant", "linear" or "cosine", decaying to lr * lr_final by the last step of the epochs
    given to `train`, after a linear warm-up over the first `warmup` steps (steps before any
    `train`, by `step` or `step_in_detail`, have no horizon and do not decay). The model's
    dropout masks are drawn from `dropout_rng`, a generator seeded from the model's seed.
    """

    def __init__(
        self, model, ids, seq_len=64, batch_size=32, optimizer="adam", lr=2e-3, clip=5.0, val_fraction=0.1, report_every=None, lr_schedule="constant", lr_final=0.1, warmup=0
    ):
        self.model = model
        self.seq_len = check_positive_int("seq_len", seq_len)
        self.batch_size = check_positive_int("batch_size", batch_size)
        if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not clip >= 0 or math.isinf(clip):
            raise ValueError(f"clip must be a number of at least 0 (0 means no clipping), not {clip!r}")
        self.clip = float(clip)
        self.report_every = None if report_every is None else check_positive_int("report_every", report_every)
        self.lr_schedule, self.lr_final, self.warmup = check_schedule(lr_schedule, lr_final, warmup)
        self.total_steps = None  # the schedule's horizon, set by train(epochs)
        # a stream of its own, apart from the one that drew the model's initial weights
        self.dropout_rng = np.random.default_rng((model.seed, 1))
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
        self.uniform_loss = math.log(model.vocab_size)
        self.divergence_limit = self.uniform_loss + DIVERGENCE_MARGIN
        self.history = []  # EpochStats of every finished epoch
        # (fractional epoch, mean train loss over the steps since the previous point, learning rate
        # of its last step), for live curves
        self.progress = []
        self.stop_requested = False
        # The newest parameters that beat guessing uniformly, with the optimiser state that goes with
        # them: a loss merely under the limit is no proof, as a blow-up passes through such losses on
        # its way up (SGD at 10 on the rhyme: 4.6 and 6.4 nats, then 38). Until then, the untrained model.
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

    @property
    def global_step(self):
        """Steps taken in all: the finished epochs' and the current one's (the schedule's clock)."""
        return self.epoch * self.steps_per_epoch + self.window

    def _rate(self, step):
        """The learning rate of `step` (0 for the first): the base rate times the schedule's factor."""
        return self.optimizer.lr * learning_rate_factor(self.lr_schedule, step, self.total_steps, self.lr_final, self.warmup)

    def _start_epoch(self):
        self.window = 0
        self.state = self.model.initial_state(self.batch_size)
        # interval_*: since the previous point of the live curve in this epoch
        self._sums = {"loss": 0.0, "chars": 0, "grad_norm": 0.0, "grad_norm_max": 0.0, "seconds": 0.0, "interval_loss": 0.0, "interval_chars": 0}

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
        distributions before the update, of the whole network (no units dropped); step_losses (T,)
        and hidden_grad_norms (L, T), the norm of the gradient of the window's loss with respect to
        each hidden state, both from the backward pass that makes the update; loss; grad_norm before clipping; updates {name: array}, what
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
        loss, grads, new_state, *details = self.model.loss_and_flat_grads(inputs, targets, self.state, diagnostics, self.dropout_rng)
        norm = clip_by_global_norm(grads, self.clip)
        if self._past_limit(loss) or not math.isfinite(norm):
            what = self._loss_became("loss", loss) if self._past_limit(loss) else f"the gradient norm became {norm:g}"
            self._diverge(f"at epoch {self.epoch + 1}, step {self.window + 1}", what)
        if loss < self.uniform_loss:
            self._keep_as_good()
        self.optimizer.step(self.model.flat_params, grads, self._rate(self.global_step))
        self.state = new_state
        chars = inputs.size
        sums = self._sums
        sums["loss"] += loss * chars
        sums["chars"] += chars
        sums["interval_loss"] += loss * chars
        sums["interval_chars"] += chars
        sums["grad_norm"] += norm
        sums["grad_norm_max"] = max(sums["grad_norm_max"], norm)
        sums["seconds"] += time.perf_counter() - started
        self.window += 1
        return loss, norm, details[0] if details else None

    def _past_limit(self, loss):
        return not loss <= self.divergence_limit  # NaN is past it too

    def _loss_became(self, which, loss):
        return f"the {which} became {loss:.4g} (guessing uniformly scores {self.uniform_loss:.2f})"

    def _keep_as_good(self):
        np.copyto(self._good_params, self.model.flat_params)
        for key, value in self.optimizer.state().items():
            np.copyto(self._good_optimizer[key], value)

    def _diverge(self, where, what):
        """Restore the last good parameters and optimiser state, and raise DivergenceError."""
        message = (
            f"Training diverged {where}: {what}. The learning rate {self.optimizer.lr:g} is probably too high "
            f"for {self.optimizer.display_name}; lower it and train again. The last good parameters were restored."
        )
        self._restore_last_good()
        raise DivergenceError(message)

    def _restore_last_good(self):
        np.copyto(self.model.flat_params, self._good_params)
        self.optimizer.load_state(self._good_optimizer)
        self._start_epoch()

    def _check_validation(self, val_loss):
        """Validation past the limit after an epoch is divergence if the training text is lost too.

        Overfitting alone takes validation far above uniform in healthy runs (the Zen of Python at
        the app's defaults: 4.3 nats above it at epoch 600, with a training loss near 0), and past the
        limit when the held-out end of a text differs from the rest, so the loss on the first training
        window, the next step's check made now, decides.
        """
        if val_loss is None or not self._past_limit(val_loss):
            return
        inputs, targets = self.train_windows[0]
        if self._past_limit(self.model.loss(inputs, targets)[0]):
            self._diverge(f"at the end of epoch {self.epoch + 1}", self._loss_became("validation loss", val_loss))

    def _end_interval(self):
        """Mean train loss (nats per character) over the steps since the previous point of the live curve."""
        sums = self._sums
        mean = sums["interval_loss"] / sums["interval_chars"]
        sums["interval_loss"], sums["interval_chars"] = 0.0, 0
        return mean

    def validation_loss(self):
        """Mean cross-entropy (nats per character) over the held-out text, or None without one."""
        return evaluate(self.model, self.val_windows) if self.val_windows else None

    def _finish_epoch(self):
        started = time.perf_counter()
        val_loss = self.validation_loss()
        self._check_validation(val_loss)
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
            lr=self._rate(self.global_step - 1),
            steps=self.steps_per_epoch,
            chars=sums["chars"],
            chars_per_sec=sums["chars"] / max(sums["seconds"], 1e-9),
            seconds=seconds,
            elapsed=elapsed,
        )
        self.history.append(stats)
        self.progress.append((float(stats.epoch), self._end_interval(), stats.lr))
        self._start_epoch()
        return stats

    def train(self, epochs, max_steps=None, max_seconds=None, callback=None):
        """Train until `epochs` epochs in all are finished, a stop, or a budget runs out.

        callback(event) is called after every epoch with {"kind": "epoch", **EpochStats} and, when
        `report_every` is set, every that many steps with {"kind": "progress", "epoch": fraction,
        "train_loss": mean over the steps since the previous report of this epoch, "lr" and
        "grad_norm" of the last step, "chars_per_sec" so far in this epoch}; returning True stops
        training.
        Returns why it stopped: "done", "stopped", "steps" or "time". Raises DivergenceError when a
        window's loss or the validation loss has blown up, with the last good parameters restored.
        The learning-rate schedule's horizon becomes `epochs` epochs.
        """
        epochs = check_positive_int("epochs", epochs)
        self.total_steps = epochs * self.steps_per_epoch
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
        loss = self._end_interval()
        lr = self._rate(self.global_step - 1)
        self.progress.append((self.epoch_fraction, loss, lr))
        return {
            "kind": "progress",
            "epoch": self.epoch_fraction,
            "train_loss": loss,
            "lr": lr,
            "grad_norm": norm,
            "chars_per_sec": sums["chars"] / max(sums["seconds"], 1e-9),
        }
