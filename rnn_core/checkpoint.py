"""Saving and loading a model with its vocabulary, as a plain .npz file that never runs code.

Every array is read with allow_pickle=False after its header has been checked against the
shapes the stored configuration implies, so a corrupt, foreign, tampered or oversized file is
refused with a CheckpointError before anything large is read.
"""

import contextlib
import io
import json
import lzma
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from .model import CharRNN, param_shapes
from .vocab import Vocab

FORMAT = "rnn_core.checkpoint"
FORMAT_VERSION = 1
MAX_TEXT_BYTES = 16 << 20  # the configuration and metadata JSON
CONFIG_KEYS = {"vocab_size", "hidden_size", "cell", "num_layers", "seed", "dtype", "bptt_horizon", "dropout"}
ADDED_KEYS = {"dropout": 0.0}  # configuration keys older files lack, with the value those models had


class CheckpointError(ValueError):
    """The file is not a model this package can load."""


class Checkpoint(NamedTuple):
    model: CharRNN
    vocab: Vocab
    metadata: dict


def save(file, model, vocab, metadata=None):
    """Write model, vocab and JSON-friendly metadata to a path or binary file object."""
    if len(vocab) != model.vocab_size:
        raise ValueError(f"the vocabulary has {len(vocab)} characters but the model expects {model.vocab_size}")
    arrays = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION),
        "config": np.array(json.dumps(model.config)),
        "metadata": np.array(json.dumps(metadata or {})),
        "vocab": np.array([ord(c) for c in vocab.chars], dtype=np.int32),
    }
    arrays.update({f"param.{name}": array for name, array in model.params.items()})
    np.savez(file, **arrays)


def _read_member(archive, name, check_header):
    """Read one .npy member after check_header(shape, dtype) accepted its header."""
    with archive.open(name + ".npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise CheckpointError(f"its entry {name!r} has an unsupported array format")
        if dtype.hasobject:
            raise CheckpointError("it holds Python objects (pickled data), which are never loaded")
        check_header(shape, dtype)
    with archive.open(name + ".npy") as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _text_header(name):
    def check(shape, dtype):
        if shape != () or dtype.kind != "U" or dtype.itemsize > MAX_TEXT_BYTES:
            raise CheckpointError(f"its {name!r} entry is not a short text")

    return check


def _array_header(name, expected_shape, kinds):
    def check(shape, dtype):
        if tuple(shape) != tuple(expected_shape) or dtype.kind not in kinds:
            raise CheckpointError(f"its {name!r} entry has shape {tuple(shape)} and type {dtype}, expected {tuple(expected_shape)}")

    return check


def _parse_config(text):
    try:
        config = json.loads(text)
    except json.JSONDecodeError:
        raise CheckpointError("its configuration is not valid JSON") from None
    if isinstance(config, dict):
        config = ADDED_KEYS | config
    if not isinstance(config, dict) or set(config) != CONFIG_KEYS:
        raise CheckpointError("its configuration does not describe a model of this package")
    return config


def _check_size(archive, config):
    """Refuse a configuration whose weights would not fit in the file, before allocating them."""
    try:
        shapes = param_shapes(config["vocab_size"], config["hidden_size"], config["cell"], config["num_layers"])
        count = sum(int(np.prod(shape, dtype=np.float64)) for shape in shapes.values())
    except (KeyError, TypeError, ValueError):
        raise CheckpointError("its configuration is invalid") from None
    stored = sum(info.file_size for info in archive.infolist() if info.filename.startswith("param."))
    if count * 4 > stored:
        raise CheckpointError("its configuration describes more weights than the file holds")


def load(file):
    """Read a checkpoint from a path or binary file object -> Checkpoint(model, vocab, metadata).

    Raises CheckpointError for anything that is not a valid checkpoint of this format.
    """
    with _refused_as("it is not a valid model file"), zipfile.ZipFile(file) as archive:
        return _load(archive)


# What reading a damaged or crafted zip can raise, besides CheckpointError.
_READ_ERRORS = (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError, OverflowError, UnicodeError, RuntimeError, NotImplementedError, zlib.error, lzma.LZMAError)


@contextlib.contextmanager
def _refused_as(message):
    """Turn whatever a bad file raises into CheckpointError(message and the cause)."""
    try:
        yield
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError("the file does not exist") from None
    except _READ_ERRORS as error:
        raise CheckpointError(f"{message} ({type(error).__name__}: {error})") from None


def _load(archive):
    names = set(archive.namelist())
    if "format.npy" not in names:
        raise CheckpointError("it is not a model file of this app (it has no format marker)")
    if str(_read_member(archive, "format", _text_header("format"))) != FORMAT:
        raise CheckpointError("it is not a model file of this app")
    version = _read_member(archive, "format_version", _array_header("format_version", (), "iu"))
    if int(version) != FORMAT_VERSION:
        raise CheckpointError(f"it has format version {int(version)}; this app reads version {FORMAT_VERSION}")
    config = _parse_config(str(_read_member(archive, "config", _text_header("config"))))
    _check_size(archive, config)
    try:
        model = CharRNN(**config)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"its configuration is invalid: {error}") from None
    expected = {"format", "format_version", "config", "metadata", "vocab", *(f"param.{name}" for name in model.params)}
    if names != {name + ".npy" for name in expected}:
        raise CheckpointError("its entries do not match its configuration (missing or unexpected arrays)")
    codes = _read_member(archive, "vocab", _array_header("vocab", (model.vocab_size,), "iu"))
    if codes.min(initial=0) < 0 or codes.max(initial=0) > 0x10FFFF or len(set(codes.tolist())) != len(codes):
        raise CheckpointError("its vocabulary is damaged")
    vocab = Vocab(chr(code) for code in codes.tolist())
    for name, target in model.params.items():
        array = _read_member(archive, f"param.{name}", _array_header(name, target.shape, "f"))
        if not np.all(np.isfinite(array)):
            raise CheckpointError(f"its weights {name!r} hold values that are not finite numbers")
        target[...] = array
    try:
        metadata = json.loads(str(_read_member(archive, "metadata", _text_header("metadata"))))
    except json.JSONDecodeError:
        raise CheckpointError("its metadata is not valid JSON") from None
    if not isinstance(metadata, dict):
        raise CheckpointError("its metadata is not a JSON object")
    return Checkpoint(model, vocab, metadata)


def to_bytes(model, vocab, metadata=None):
    """The checkpoint as bytes (for downloads)."""
    buffer = io.BytesIO()
    save(buffer, model, vocab, metadata)
    return buffer.getvalue()


MAX_MEMBERS = 100  # checkpoints in one collection


def save_many(file, checkpoints):
    """Write several (model, vocab, metadata) checkpoints to one zip file, each an .npz as `save` writes."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
        for index, (model, vocab, metadata) in enumerate(checkpoints):
            archive.writestr(f"checkpoint_{index:03d}.npz", to_bytes(model, vocab, metadata))


def load_many(file, max_bytes=1 << 30):
    """Read a collection written by `save_many` -> [Checkpoint, ...], each through `load`'s checks.

    Refuses the whole file with CheckpointError if any checkpoint in it is bad, so a caller
    adds all of them or none; `max_bytes` bounds what the members may hold unpacked.
    """
    with _refused_as("it is not a valid collection of runs"), zipfile.ZipFile(file) as archive:
        members = archive.infolist()
        if not members or any(not member.filename.endswith(".npz") for member in members):
            raise CheckpointError("it is not a collection of runs of this app")
        if any(member.compress_type != zipfile.ZIP_STORED for member in members):
            raise CheckpointError("its runs are compressed; this app writes them stored")  # no small file unpacks huge
        if len(members) > MAX_MEMBERS:
            raise CheckpointError(f"it holds {len(members)} runs; at most {MAX_MEMBERS} can be read")
        if sum(member.file_size for member in members) > max_bytes:
            raise CheckpointError(f"its runs would take more than {max_bytes >> 20} MB")
        checkpoints = []
        for member in members:
            try:
                checkpoints.append(load(io.BytesIO(archive.read(member))))
            except CheckpointError as error:
                raise CheckpointError(f"run {len(checkpoints) + 1} ({member.filename}): {error}") from None
        return checkpoints


def collection_to_bytes(checkpoints):
    """`save_many` as bytes (for downloads)."""
    buffer = io.BytesIO()
    save_many(buffer, checkpoints)
    return buffer.getvalue()
