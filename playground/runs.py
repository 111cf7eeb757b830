"""Finished and stopped runs kept in a session, to compare side by side. Plain Python, no Streamlit."""

import io
import math
from dataclasses import dataclass, replace

from playground.presets import PRESETS
from playground.state import CELL_NAMES, SETTING_NAMES, Settings, TrainingRun, label, link_value, new_run_id
from rnn_core import CheckpointError, UnknownCharactersError, collection_to_bytes, load, load_many, sample, to_bytes

@dataclass
class RunRecord:
    """What a finished or stopped run leaves: settings, curves, summary and the model itself."""

    run_id: str
    name: str
    text_label: str
    settings: Settings
    curve: dict  # {"train": [(epoch, nats)], "val": [(epoch, nats)]}
    seconds_curve: dict  # the same losses against seconds of training
    summary: dict  # epochs, train_bpc, val_bpc, seconds, chars_per_sec, status
    model: object
    vocab: object
    progress: tuple = None  # (epochs, window, status) of the run when recorded; None when imported
    text: str = None  # the training text, kept by the run store; None when imported (exports leave it out)

    def description(self):
        """What the run store keeps beside the checkpoint (whose metadata holds the rest)."""
        return {"progress": None if self.progress is None else list(self.progress)}

    def checkpoint_bytes(self):
        """The model with this record's metadata, as export and the run store keep it."""
        return to_bytes(self.model, self.vocab, self.metadata())

    def metadata(self):
        """JSON-friendly everything but the model, for export."""
        return {
            "name": self.name,
            "text_label": self.text_label,
            "settings": self.settings.as_dict(),
            "curve": self.curve,
            "seconds_curve": self.seconds_curve,
            "summary": self.summary,
        }


def text_label(run):
    return PRESETS[run.preset][0] if run.preset in PRESETS else f"your text ({len(run.text):,} characters)"


def record_of(run, name):
    """A RunRecord of a TrainingRun that has trained at least one epoch."""
    with run.lock:
        history = list(run.history)
        curve = run.curve()
        model = run.model
    last = history[-1]
    return RunRecord(
        run_id=run.run_id,
        name=name,
        text_label=text_label(run),
        settings=run.settings,
        curve={key: [(epoch, loss) for epoch, loss, _ in points] for key, points in curve.items()},
        seconds_curve={
            "train": [(stats.elapsed, stats.train_loss) for stats in history],
            "val": [(stats.elapsed, stats.val_loss) for stats in history if stats.val_loss is not None],
        },
        summary={
            "epochs": last.epoch,
            "train_bpc": last.train_bpc,
            "val_bpc": last.val_bpc,
            "seconds": last.elapsed,
            "chars_per_sec": sum(stats.chars for stats in history) / max(last.elapsed, 1e-9),
            "status": run.status,
        },
        model=model,
        vocab=run.vocab,
        progress=progress_of(run),
        text=run.text,
    )


def progress_of(run):
    """Where a run stands: a record made at the same progress needs no remaking."""
    return (run.epoch, run.trainer.window, run.status)


def default_name(settings):
    return f"{CELL_NAMES[settings.cell]} H={settings.hidden_size} lr={settings.lr:g}"


def keep(records, run, limit, name=None, deleted=None):
    """Add or refresh `run`'s record in `records` (a list, oldest first), keeping at most `limit`.

    A run whose record was deleted (`deleted`: {run_id: progress}, see `delete`) comes back only
    once it has trained further. Returns the names of records dropped to make room.
    """
    if run is None or run.training or run.epoch == 0:
        return []
    progress = progress_of(run)
    if deleted and deleted.get(run.run_id) == progress:
        return []
    for index, record in enumerate(records):
        if record.run_id == run.run_id:
            if record.progress != progress:
                records[index] = record_of(run, record.name)
            return []
    records.append(record_of(run, unique_name(records, name or default_name(run.settings))))
    dropped = records[: max(0, len(records) - limit)]
    del records[: len(dropped)]
    return [record.name for record in dropped]


def unique_name(records, name):
    names = {record.name for record in records}
    if name not in names:
        return name
    return next(f"{name} ({number})" for number in range(2, len(names) + 2) if f"{name} ({number})" not in names)


def delete(records, record, deleted):
    """Remove a record, noting in `deleted` where its run stood so that it is not kept again as it is."""
    records.remove(record)
    deleted[record.run_id] = record.progress


def rename(records, record, new_name):
    """Rename a record; raise ValueError for an empty or taken name."""
    new_name = new_name.strip()[:80].rstrip()
    if not new_name:
        raise ValueError("A run needs a name.")
    if any(other.name == new_name for other in records if other is not record):
        raise ValueError(f"Another run is already called {new_name!r}.")
    record.name = new_name


def differing_settings(records):
    """Names of the settings (and the text) whose values differ between the records."""
    differing = [name for name in SETTING_NAMES if len({getattr(record.settings, name) for record in records}) > 1]
    if len({record.text_label for record in records}) > 1:
        differing.insert(0, "text")
    return differing


def settings_rows(records):
    """One row per setting, one column per run: {"setting": label, run name: value, ...}."""
    rows = [{"setting": "Text", **{record.name: record.text_label for record in records}}]
    for name in SETTING_NAMES:
        rows.append({"setting": label(name), **{record.name: _shown(name, getattr(record.settings, name)) for record in records}})
    return rows


def _shown(name, value):
    return f"{value:g}" if isinstance(value, float) else link_value(name, value)


def summary_rows(records):
    return [
        {
            "run": record.name,
            "epochs": record.summary["epochs"],
            "final train loss (bits/char)": round(record.summary["train_bpc"], 4),
            "validation (bits/char)": None if record.summary["val_bpc"] is None else round(record.summary["val_bpc"], 4),
            "seconds": round(record.summary["seconds"], 1),
            "characters per second": round(record.summary["chars_per_sec"]),
        }
        for record in records
    ]


def samples(records, prime, seed, length=200, temperature=0.8):
    """{run name: text sampled from the same prime and seed, or the reason it cannot be}."""
    texts = {}
    for record in records:
        try:
            texts[record.name] = prime + sample(record.model, record.vocab, prime, length, temperature=temperature, seed=seed)
        except UnknownCharactersError as error:
            texts[record.name] = f"(cannot start from this prime: {error})"
    return texts


def export_bytes(records):
    """All records in one file (the engine's collection of checkpoints)."""
    return collection_to_bytes([(record.model, record.vocab, record.metadata()) for record in records])


def import_records(data, records, limit):
    """Records read from `data` (bytes from export_bytes), checked in full before any is added.

    Raises ValueError in the user's words; `records` is unchanged unless everything was read.
    """
    try:
        checkpoints = load_many(io.BytesIO(data))
    except CheckpointError as error:
        raise ValueError(f"This file cannot be read as saved runs: {error}. Nothing was changed.") from None
    if len(records) + len(checkpoints) > limit:
        raise ValueError(f"The file holds {len(checkpoints)} runs and {len(records)} are kept; this server keeps up to {limit}. Delete some first.")
    imported = []
    for checkpoint in checkpoints:
        try:
            imported.append(_record_from(checkpoint, new_run_id(), records + imported))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"This file's runs are damaged ({type(error).__name__}: {error}). Nothing was changed.") from None
    records.extend(imported)
    return [record.name for record in imported]


def record_from_saved(row):
    """A RunRecord as the run store kept it (RunStore.runs); ValueError if it cannot be read."""
    try:
        record = _record_from(load(io.BytesIO(row["model"])), row["run_id"], [])
    except (CheckpointError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"the kept run {row['run_id']} cannot be read ({type(error).__name__}: {error})") from None
    progress = row["description"].get("progress")
    record.progress = None if progress is None else tuple(progress)
    record.text = row["text"]
    return record


def _record_from(checkpoint, run_id, existing):
    metadata = checkpoint.metadata
    settings = Settings(**metadata["settings"]).check()
    curves = {key: _points(metadata[key]) for key in ("curve", "seconds_curve")}
    summary = {key: metadata["summary"][key] for key in ("epochs", "train_bpc", "val_bpc", "seconds", "chars_per_sec", "status")}
    for key in ("epochs", "train_bpc", "val_bpc", "seconds", "chars_per_sec"):
        if key == "val_bpc" and summary[key] is None:
            continue  # a run without validation
        if isinstance(summary[key], bool) or not isinstance(summary[key], (int, float)) or not math.isfinite(summary[key]):
            raise ValueError(f"summary {key} is not a number")
    if checkpoint.model.cell_name != settings.cell or checkpoint.model.hidden_size != settings.hidden_size:
        raise ValueError("the model does not match its settings")
    return RunRecord(
        run_id=run_id,
        name=unique_name(existing, str(metadata["name"])[:80] or "imported run"),
        text_label=str(metadata["text_label"])[:200],
        settings=settings,
        model=checkpoint.model,
        vocab=checkpoint.vocab,
        summary=summary,
        **curves,
    )


def _points(curve):
    checked = {}
    for key in ("train", "val"):
        points = [(float(x), float(y)) for x, y in curve[key]]
        if not all(math.isfinite(x) and math.isfinite(y) for x, y in points):
            raise ValueError("a curve holds values that are not numbers")
        checked[key] = points
    return checked


# The classic comparisons: one click trains these variants of the current settings on the current text.
COMPARISONS = {
    "cells": ("RNN vs LSTM vs GRU", lambda settings: [(CELL_NAMES[cell], replace(settings, cell=cell)) for cell in CELL_NAMES]),
    "bptt": ("BPTT horizon 1 vs full", lambda settings: [("full BPTT", replace(settings, bptt_horizon=0)), ("horizon 1 (no BPTT)", replace(settings, bptt_horizon=1))]),
    "lr": (
        "Learning-rate sweep",
        lambda settings: [(f"lr={lr:g}", replace(settings, lr=lr)) for lr in sorted({settings.lr / 10, settings.lr, min(settings.lr * 10, 10.0)})],
    ),
}


def comparison_runs(comparison, text, settings, preset=None):
    """[(name, TrainingRun)] for a comparison, ready to start; ValueError if any variant cannot run."""
    _, variants = COMPARISONS[comparison]
    return [(name, TrainingRun(text, variant, preset=preset)) for name, variant in variants(settings)]
