"""Caps that keep a shared server responsive. Local users raise them with environment variables."""

import os
from dataclasses import dataclass, fields

from rnn_core import CELLS

# Multiply-adds a second, as counted by step_seconds, on this 2-core machine: LSTM H=256 B=32 T=64
# counts 3.3 G a step and took 45-65 ms (benchmarks/throughput.py); rounded down to be safe.
MULTIPLY_ADDS_PER_SECOND = 5e10


@dataclass(frozen=True)
class Caps:
    text_chars: int = 1_000_000  # CHAR_RNN_MAX_TEXT_CHARS
    step_seconds: float = 1.0  # CHAR_RNN_MAX_STEP_SECONDS: estimated time of one training step
    training_chars: int = 20_000_000  # CHAR_RNN_MAX_TRAINING_CHARS: epochs x text length
    generate_length: int = 5000  # CHAR_RNN_MAX_GENERATE_LENGTH
    upload_mb: int = 50  # CHAR_RNN_MAX_UPLOAD_MB: text and model files (Streamlit's server.maxUploadSize matches)
    training_workers: int = 2  # CHAR_RNN_MAX_TRAINING_WORKERS: sessions training at the same moment
    runs_kept: int = 12  # CHAR_RNN_MAX_RUNS_KEPT: finished runs a browser keeps to compare
    owner_mb: int = 200  # CHAR_RNN_MAX_OWNER_MB: disk the run store gives one browser's runs
    store_mb: int = 5000  # CHAR_RNN_MAX_STORE_MB: disk the whole run store may take
    idle_days: int = 7  # CHAR_RNN_MAX_IDLE_DAYS: runs not opened for this many days go
    room_hours: float = 24.0  # CHAR_RNN_MAX_ROOM_HOURS: a workshop room ends this long after it was started
    room_size: int = 100  # CHAR_RNN_MAX_ROOM_SIZE: attendees one room takes

    @classmethod
    def from_environment(cls, environ=None):
        """Defaults, raised or lowered by CHAR_RNN_MAX_<NAME> variables; a bad value keeps the default."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            raw = environ.get(f"CHAR_RNN_MAX_{field.name.upper()}")
            try:
                value = field.type(raw) if raw else None
            except ValueError:
                value = None
            if value is not None and value > 0:
                values[field.name] = value
        return cls(**values)


def step_seconds(settings, vocab_size):
    """Estimated seconds of one training step: multiply-adds of the matmuls over a window."""
    gates = CELLS[settings.cell].gates
    H = settings.hidden_size
    # per layer: the recurrent and input matmuls, each forward, backward and for the weight gradient
    per_char = settings.num_layers * 2 * 3 * gates * H * H + 3 * H * vocab_size
    return settings.batch_size * settings.seq_len * per_char / MULTIPLY_ADDS_PER_SECOND


def check_caps(text, settings, caps):
    """Raise ValueError, in the user's words, when a run would go past a cap."""
    if len(text) > caps.text_chars:
        raise ValueError(
            f"The text has {len(text):,} characters; this server takes up to {caps.text_chars:,}. "
            "Use a shorter text (or, running the app yourself, set CHAR_RNN_MAX_TEXT_CHARS)."
        )
    seconds = step_seconds(settings, len(set(text)))
    if seconds > caps.step_seconds:
        raise ValueError(
            f"With these settings one training step would take about {seconds:.1f} s; this server allows {caps.step_seconds:g} s. "
            "Lower the hidden size, layers, batch size or sequence length (or set CHAR_RNN_MAX_STEP_SECONDS)."
        )
    if settings.epochs * len(text) > caps.training_chars:
        raise ValueError(
            f"{settings.epochs:,} epochs of {len(text):,} characters is {settings.epochs * len(text):,} characters of training; "
            f"this server allows {caps.training_chars:,} per run. Lower the epochs (or set CHAR_RNN_MAX_TRAINING_CHARS)."
        )
