"""Saving where a Trainer is and putting it back, so training continues exactly where it stopped.

The state leaves out the model's weights, saved separately with `to_bytes(model, vocab)`, and the
text: the caller rebuilds the Trainer from the same text and settings around the loaded model and
then calls `restore_training_state`. Like a checkpoint, the state is an .npz of plain numeric
arrays plus one JSON entry, read with allow_pickle=False after every header has been checked
against the shapes the rebuilt trainer expects, so it never runs code.

Version 2 added the learning-rate schedule, the dropout generator and each live curve point's
learning rate. Version 1 states still load: they trained at a constant rate without dropout.
"""

import io
import json
import math
import zipfile
from dataclasses import fields

import numpy as np

from .checkpoint import CheckpointError, _array_header, _read_member, _refused_as, _text_header
from .schedule import check_schedule
from .train import EpochStats

FORMAT = "rnn_core.training_state"
FORMAT_VERSION = 2
# Settings the rebuilt trainer must share with the saved one: they decide its windows.
MATCHING = ("seq_len", "batch_size", "val_fraction", "steps_per_epoch")
DESCRIPTION_KEYS = {"optimizer", "lr", "steps", "good_steps", "clip", "report_every", "window", "sums", "history", "progress_points", *MATCHING}
SCHEDULE_KEYS = ("lr_schedule", "lr_final", "warmup", "total_steps")
ADDED_IN_VERSION_2 = {*SCHEDULE_KEYS, "dropout_rng"}
VERSION_1_SCHEDULE = {"lr_schedule": "constant", "lr_final": 0.1, "warmup": 0, "total_steps": None}
GENERATOR_KEYS = {"bit_generator", "state", "has_uint32", "uinteger"}  # numpy's PCG64 state
OPTIONAL_FLOAT = float | None  # how EpochStats declares the validation numbers


def training_state_to_bytes(trainer):
    """Everything but the weights and the text that `trainer` needs to continue, as .npz bytes.

    Arrays: the optimiser's buffers (P,) as "buffer.<slot>" and the last good ones as
    "good.<slot>", the last good parameters (P,), the carried hidden state (L, S, B, H) with S
    arrays per layer (2 for LSTM), and the live curve (K, 3) of (fraction, loss, learning rate).
    The rest is JSON, the dropout generator's state included.
    Raises ValueError between the last step of an epoch and its finish (after a bare `step()`),
    where `train()` never stops.
    """
    if not 0 <= trainer.window < trainer.steps_per_epoch:
        raise ValueError("the trainer is in the middle of finishing an epoch: train or step in detail before saving it")
    optimizer, good = trainer.optimizer, trainer._good_optimizer
    arrays = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION),
        "description": np.array(json.dumps(_describe(trainer), allow_nan=False)),
        "good_params": trainer._good_params,
        "hidden_state": np.stack([np.stack(layer) for layer in trainer.state]),
        "progress": np.array(trainer.progress, np.float64).reshape(-1, 3),
    }
    arrays.update({f"buffer.{slot}": optimizer.state()[slot] for slot in optimizer.slots})
    arrays.update({f"good.{slot}": good[slot] for slot in optimizer.slots})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _describe(trainer):
    """The JSON part of the state: numbers, the schedule, the generator, the epoch sums and the history."""
    optimizer = trainer.optimizer
    return {
        "optimizer": optimizer.name,
        "lr": optimizer.lr,
        "steps": optimizer.steps,
        "good_steps": int(trainer._good_optimizer["steps"]),
        **{key: getattr(trainer, key) for key in MATCHING},
        "clip": trainer.clip,
        "report_every": trainer.report_every,
        **{key: getattr(trainer, key) for key in SCHEDULE_KEYS},
        "dropout_rng": trainer.dropout_rng.bit_generator.state,
        "window": trainer.window,
        "sums": trainer._sums,
        "history": [stats.to_dict() for stats in trainer.history],
        "progress_points": len(trainer.progress),
    }


def restore_training_state(trainer, data):
    """Put a state written by `training_state_to_bytes` into `trainer`, freshly built around the
    model loaded from its checkpoint, from the same text and settings.

    All or nothing: everything is read and checked first; on any problem CheckpointError says
    what, and the trainer is unchanged.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CheckpointError(f"a training state is bytes, not {type(data).__name__}")
    with _refused_as("it is not a valid training state"), zipfile.ZipFile(io.BytesIO(data)) as archive:
        saved = _read(archive, trainer)
    _apply(trainer, saved)


def _read(archive, trainer):
    """Every part of the state in `archive`, checked against `trainer`, as a dict; changes nothing."""
    names = set(archive.namelist())
    if "format.npy" not in names or str(_read_member(archive, "format", _text_header("format"))) != FORMAT:
        raise CheckpointError("it is not a training state of this app")
    version = int(_read_member(archive, "format_version", _array_header("format_version", (), "iu")))
    if version not in (1, FORMAT_VERSION):
        raise CheckpointError(f"it has format version {version}; this app reads versions 1 to {FORMAT_VERSION}")
    # The description first: a different optimiser is worth saying so, not "unexpected entries".
    description = _parse_description(str(_read_member(archive, "description", _text_header("description"))), trainer, version)
    slots = trainer.optimizer.slots
    expected = {"format", "format_version", "description", "good_params", "hidden_state", "progress", *(f"buffer.{slot}" for slot in slots), *(f"good.{slot}" for slot in slots)}
    if names != {name + ".npy" for name in expected}:
        raise CheckpointError("its entries do not match this trainer (missing or unexpected arrays)")
    model = trainer.model
    params = (model.num_params,)
    hidden = (model.num_layers, model.cell.state_size, trainer.batch_size, model.hidden_size)
    points = description["progress_points"]
    columns = 2 if version == 1 else 3  # version 1 kept no learning rates
    # Each number takes 8 bytes: a count the entry cannot hold is refused before it is allocated.
    if points * columns * 8 > archive.getinfo("progress.npy").file_size:
        raise CheckpointError("its live curve holds fewer points than it says")
    progress = _read_finite(archive, "progress", (points, columns), "live curve")
    if version == 1:
        progress = _with_rates(progress, description["history"], description["lr"])
    return {
        "description": description,
        "buffers": {slot: _read_finite(archive, f"buffer.{slot}", params, f"optimiser buffer {slot!r}") for slot in slots},
        "good_buffers": {slot: _read_finite(archive, f"good.{slot}", params, f"last good optimiser buffer {slot!r}") for slot in slots},
        "good_params": _read_finite(archive, "good_params", params, "last good parameters"),
        "hidden_state": _read_finite(archive, "hidden_state", hidden, "carried hidden state"),
        "progress": progress,
    }


def _with_rates(points, history, lr):
    """Version-1 curve points (K, 2) with a third column, the rate of their epoch (K, 3).

    Those runs trained at a constant rate, changed only between epochs or at a resume: a point
    takes the rate of the epoch it ends or falls in, or the saved rate in the unfinished one.
    """
    epochs = np.clip(np.ceil(points[:, 0]), 1, len(history) + 1).astype(np.int64)  # (K,) the epoch of each point, from 1
    rates = np.array([stats.lr for stats in history] + [lr])  # (E + 1,) the last for the unfinished epoch
    return np.column_stack([points, rates[epochs - 1]])


def _read_finite(archive, name, shape, what):
    """The float array `name` after its header matched `shape`; refused unless every value is finite."""
    array = _read_member(archive, name, _array_header(name, shape, "f"))
    if not np.all(np.isfinite(array)):
        raise CheckpointError(f"there are values that are not finite numbers in its {what}")
    return array


def _parse_description(text, trainer, version):
    """The JSON part, checked against `trainer` and with its numbers as Python ints and floats."""
    try:
        description = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise CheckpointError("its description is not valid JSON") from None
    expected = DESCRIPTION_KEYS if version == 1 else DESCRIPTION_KEYS | ADDED_IN_VERSION_2
    if not isinstance(description, dict) or set(description) != expected:
        raise CheckpointError("its description is not that of a training state of this app")
    if description["optimizer"] != trainer.optimizer.name:
        raise CheckpointError(f"it was saved with the optimiser {_brief(description['optimizer'])}, but this trainer uses {trainer.optimizer.name!r}")
    for key in MATCHING:
        if description[key] != getattr(trainer, key):
            raise CheckpointError(f"it was saved with {key} {_brief(description[key])}, but this trainer has {getattr(trainer, key)!r}")
    steps = _whole("optimiser step count", description["steps"], 0)
    lr = _real("learning rate", description["lr"])
    clip = _real("clip", description["clip"])
    if lr <= 0 or clip < 0:
        raise CheckpointError("its learning rate must be above 0 and its clip at least 0")
    report_every = description["report_every"]
    return {
        **(VERSION_1_SCHEDULE if version == 1 else _parse_schedule(description)),
        "dropout_rng": None if version == 1 else _parse_generator(description["dropout_rng"]),
        "lr": lr,
        "steps": steps,
        # The good state is kept before a step, or restored after a failed one: never ahead.
        "good_steps": _whole("last good step count", description["good_steps"], 0, steps),
        "clip": clip,
        "report_every": None if report_every is None else _whole("report interval", report_every, 1),
        "window": _whole("window", description["window"], 0, trainer.steps_per_epoch - 1),
        "sums": _parse_sums(description["sums"], trainer._sums),
        "history": _parse_history(description["history"]),
        "progress_points": _whole("number of live curve points", description["progress_points"], 0),
    }


def _parse_schedule(description):
    """The learning-rate schedule's settings and horizon, checked as the Trainer checks them."""
    try:
        kind, final_fraction, warmup = check_schedule(description["lr_schedule"], description["lr_final"], description["warmup"])
    except ValueError:
        settings = ", ".join(_brief(description[key]) for key in ("lr_schedule", "lr_final", "warmup"))
        raise CheckpointError(f"its learning-rate schedule ({settings}) is not one this app can follow") from None
    total_steps = description["total_steps"]
    return {
        "lr_schedule": kind,
        "lr_final": final_fraction,
        "warmup": warmup,
        "total_steps": None if total_steps is None else _whole("schedule horizon", total_steps, 1),
    }


def _parse_generator(state):
    """A numpy Generator in the saved PCG64 state, each part of which is checked first."""
    if not isinstance(state, dict) or set(state) != GENERATOR_KEYS or state["bit_generator"] != "PCG64":
        raise CheckpointError("its dropout generator is not a saved numpy PCG64 generator")
    words = state["state"]
    if not isinstance(words, dict) or set(words) != {"state", "inc"}:
        raise CheckpointError("its dropout generator is not a saved numpy PCG64 generator")
    for key, value in words.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**128:
            raise CheckpointError(f"its dropout generator's {key} is not a 128-bit whole number")
    _whole("dropout generator's has_uint32", state["has_uint32"], 0, 1)
    _whole("dropout generator's uinteger", state["uinteger"], 0, 2**32 - 1)
    generator = np.random.Generator(np.random.PCG64())
    generator.bit_generator.state = state
    return generator


def _refuse_constant(name):
    raise CheckpointError(f"its description holds {name}, which is not a finite number")


def _parse_sums(sums, fresh):
    """The epoch sums, with the keys of a fresh trainer's and an int wherever it has one."""
    if not isinstance(sums, dict) or set(sums) != set(fresh):
        raise CheckpointError("its epoch sums do not have the keys this trainer keeps")
    return {key: _whole(f"sum {key!r}", value, 0) if isinstance(fresh[key], int) else _real(f"sum {key!r}", value) for key, value in sums.items()}


def _parse_history(history):
    """[EpochStats] from their dicts, numbered 1, 2, ... as the trainer numbers them."""
    if not isinstance(history, list):
        raise CheckpointError("its history is not a list of epochs")
    return [_parse_epoch(entry, number) for number, entry in enumerate(history, 1)]


def _parse_epoch(entry, number):
    declared = {field.name: field.type for field in fields(EpochStats)}
    if not isinstance(entry, dict) or set(entry) != set(declared):
        raise CheckpointError(f"its history entry {number} does not have the statistics of an epoch")
    values = {name: _typed(f"epoch {number} {name}", entry[name], declared[name]) for name in declared}
    if values["epoch"] != number:
        raise CheckpointError(f"its history entry {number} says it is epoch {values['epoch']}")
    return EpochStats(**values)


def _typed(name, value, kind):
    """value as EpochStats declares it: int, float, or float | None."""
    if kind is int:
        return _whole(name, value, 0)
    if kind == OPTIONAL_FLOAT and value is None:
        return None
    return _real(name, value)


def _whole(name, value, low, high=None):
    """value if it is a whole number from low to high (None: no upper bound), else CheckpointError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        upper = "" if high is None else f" and at most {high}"
        raise CheckpointError(f"its {name} is {_brief(value)}, not a whole number of at least {low}{upper}")
    return value


def _real(name, value):
    """value as a float if it is a finite number, else CheckpointError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CheckpointError(f"its {name} is {_brief(value)}, not a finite number")
    return float(value)


def _brief(value):
    """repr(value), cut short: a crafted file's values can be long."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _apply(trainer, saved):
    """Put checked parts into `trainer`: plain assignments and copies that cannot fail half-way."""
    description = saved["description"]
    optimizer = trainer.optimizer
    optimizer.lr = description["lr"]
    optimizer.load_state({"steps": description["steps"], **saved["buffers"]})
    np.copyto(trainer._good_params, saved["good_params"])
    # In place: the trainer copies into these arrays, "steps" included, when it keeps a good state.
    for key, value in {"steps": description["good_steps"], **saved["good_buffers"]}.items():
        np.copyto(trainer._good_optimizer[key], value)
    trainer.clip = description["clip"]
    trainer.report_every = description["report_every"]
    for key in SCHEDULE_KEYS:
        setattr(trainer, key, description[key])
    if description["dropout_rng"] is not None:
        trainer.dropout_rng = description["dropout_rng"]
    trainer.window = description["window"]
    dtype = trainer.model.dtype  # copies in the model's dtype, as initial_state makes them
    trainer.state = tuple(tuple(array.astype(dtype) for array in layer) for layer in saved["hidden_state"])
    trainer._sums = description["sums"]
    trainer.history = description["history"]
    trainer.progress = [(fraction, loss, lr) for fraction, loss, lr in saved["progress"].tolist()]
