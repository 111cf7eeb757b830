import io
import json
import pickle
import zipfile

import numpy as np
import pytest

from rnn_core import CharRNN, CheckpointError, Vocab, collection_to_bytes, load, load_many, sample, save, to_bytes


@pytest.fixture
def saved(tmp_path):
    vocab = Vocab.from_text("hello world ✓👋")
    model = CharRNN(len(vocab), 10, "gru", num_layers=2, seed=4, bptt_horizon=3)
    rng = np.random.default_rng(0)
    model.flat_params[:] = rng.normal(size=model.num_params)
    path = tmp_path / "model.npz"
    save(path, model, vocab, {"note": "trained on hello", "history": [1.5, 1.2]})
    return path, model, vocab


def test_round_trip_bit_for_bit(saved):
    path, model, vocab = saved
    loaded, loaded_vocab, metadata = load(path)
    assert loaded_vocab == vocab
    assert loaded.config == model.config
    for name in model.params:
        np.testing.assert_array_equal(loaded.params[name], model.params[name])
        assert loaded.params[name].dtype == model.params[name].dtype
    assert metadata == {"note": "trained on hello", "history": [1.5, 1.2]}
    assert sample(loaded, loaded_vocab, "he", 30, seed=2) == sample(model, vocab, "he", 30, seed=2)


def test_bytes_and_file_objects(saved):
    _, model, vocab = saved
    loaded = load(io.BytesIO(to_bytes(model, vocab)))
    np.testing.assert_array_equal(loaded.model.flat_params, model.flat_params)


def rewrite(path, change):
    """Copy the archive with change(name, data) -> data or None (drop)."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = change(name, source.read(name))
            if data is not None:
                target.writestr(name, data)
    return out.getvalue()


def npy_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def with_config(path, change):
    """The archive at `path` with its configuration changed in place by change(config)."""

    def rewrite_config(name, data):
        if name != "config.npy":
            return data
        config = json.loads(str(np.lib.format.read_array(io.BytesIO(data))))
        change(config)
        return npy_bytes(np.array(json.dumps(config)))

    return rewrite(path, rewrite_config)


class Boom:
    def __reduce__(self):
        return (exec, ("raise SystemExit('pickled code ran')",))


def bad_files(path):
    good = path.read_bytes()
    return {
        "empty": b"",
        "text": b"just some text",
        "truncated": good[: len(good) // 2],
        "pickle": pickle.dumps({"weights": [1, 2, 3]}),
        "pickled object array": rewrite(path, lambda n, d: npy_bytes(np.array([Boom()], dtype=object)) if n == "param.Why.npy" else d),
        "pickled config": rewrite(path, lambda n, d: npy_bytes(np.array(Boom(), dtype=object)) if n == "config.npy" else d),
        "foreign npz": rewrite(path, lambda n, d: d if n == "param.Why.npy" else None),
        "missing array": rewrite(path, lambda n, d: None if n == "param.by.npy" else d),
        "extra array": rewrite(path, lambda n, d: d) + b"",
        "wrong shape": rewrite(path, lambda n, d: npy_bytes(np.zeros((3, 3), np.float32)) if n == "param.Why.npy" else d),
        "integer weights": rewrite(path, lambda n, d: npy_bytes(np.zeros((10, 11), np.int64)) if n == "param.Why.npy" else d),
        "nan weights": rewrite(path, lambda n, d: npy_bytes(np.full((10, 11), np.nan, np.float32)) if n == "param.Why.npy" else d),
        "other format": rewrite(path, lambda n, d: npy_bytes(np.array("keras")) if n == "format.npy" else d),
        "future version": rewrite(path, lambda n, d: npy_bytes(np.array(99)) if n == "format_version.npy" else d),
        "bad json": rewrite(path, lambda n, d: npy_bytes(np.array("{not json")) if n == "config.npy" else d),
        "huge config": rewrite(
            path,
            lambda n, d: npy_bytes(np.array('{"vocab_size": 11, "hidden_size": 100000000, "cell": "gru", "num_layers": 2, "seed": 4, "dtype": "float32", "bptt_horizon": 3}'))
            if n == "config.npy"
            else d,
        ),
        "dropout of 1": with_config(path, lambda config: config.update(dropout=1.0)),
        "vocabulary mismatch": rewrite(path, lambda n, d: npy_bytes(np.arange(5, dtype=np.int32)) if n == "vocab.npy" else d),
        "duplicate characters": rewrite(path, lambda n, d: npy_bytes(np.zeros(11, np.int32)) if n == "vocab.npy" else d),
    }


def test_every_bad_file_is_refused_with_a_clear_error(saved, tmp_path):
    path, _, _ = saved
    for label, data in bad_files(path).items():
        bad = tmp_path / f"{label}.npz"
        bad.write_bytes(data)
        if label == "extra array":
            with zipfile.ZipFile(bad, "a") as archive:
                archive.writestr("surprise.npy", npy_bytes(np.zeros(3)))
        with pytest.raises(CheckpointError) as caught:
            load(bad)
        assert str(caught.value), label
        assert "Traceback" not in str(caught.value)


def test_dropout_is_saved_and_a_file_from_before_dropout_loads_without_it(tmp_path):
    vocab = Vocab.from_text("hello world")
    model = CharRNN(len(vocab), 6, "lstm", num_layers=2, seed=1, dropout=0.35)
    path = tmp_path / "dropout.npz"
    save(path, model, vocab)
    assert load(path).model.dropout == 0.35 and load(path).model.config == model.config

    old = tmp_path / "old.npz"
    old.write_bytes(with_config(path, lambda config: config.pop("dropout")))
    loaded = load(old).model
    assert loaded.dropout == 0.0 and loaded.config == model.config | {"dropout": 0.0}
    np.testing.assert_array_equal(loaded.flat_params, model.flat_params)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load(tmp_path / "nope.npz")


def test_vocabulary_and_model_must_agree(tmp_path):
    with pytest.raises(ValueError, match="vocabulary"):
        save(tmp_path / "m.npz", CharRNN(3, 4), Vocab.from_text("ab"))


def test_a_collection_of_runs_round_trips_in_order():
    runs = []
    for index, cell in enumerate(["rnn", "lstm", "gru"]):
        vocab = Vocab.from_text("abc" * (index + 1) + "xyz"[index])
        model = CharRNN(len(vocab), 6, cell, seed=index)
        runs.append((model, vocab, {"name": f"run {index}", "curve": [3.0, 2.0 - index]}))
    loaded = load_many(io.BytesIO(collection_to_bytes(runs)))
    assert [checkpoint.metadata for checkpoint in loaded] == [metadata for _, _, metadata in runs]
    for (model, vocab, _), checkpoint in zip(runs, loaded):
        assert checkpoint.vocab == vocab and checkpoint.model.config == model.config
        np.testing.assert_array_equal(checkpoint.model.flat_params, model.flat_params)


def test_a_collection_with_one_bad_run_is_refused_whole(saved):
    path, model, vocab = saved
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("checkpoint_000.npz", path.read_bytes())
        archive.writestr("checkpoint_001.npz", path.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="run 2"):
        load_many(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize(
    "content,match",
    [
        (b"not a zip at all", "not a valid collection"),
        (None, "not a collection of runs"),
        ("pickle", "not a collection of runs"),
    ],
)
def test_files_that_are_not_collections_are_refused(saved, content, match):
    if content is None:  # a single model file is a zip of .npy, not of .npz
        content = saved[0].read_bytes()
    elif content == "pickle":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("runs.pkl", pickle.dumps({"runs": []}))
        content = buffer.getvalue()
    with pytest.raises(CheckpointError, match=match):
        load_many(io.BytesIO(content))


def test_a_collection_too_large_unpacked_is_refused_before_reading(saved):
    path, _, _ = saved
    content = collection_to_bytes([load(path)] * 3)
    with pytest.raises(CheckpointError, match="more than"):
        load_many(io.BytesIO(content), max_bytes=2 * path.stat().st_size)


def test_a_damaged_compressed_entry_is_refused_not_raised(saved):
    path, _, _ = saved
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            target.writestr(member.filename, source.read(member))
    content = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as archive:
        member = next(info for info in archive.infolist() if info.filename.startswith("param."))
    name_length, extra_length = int.from_bytes(content[member.header_offset + 26 : member.header_offset + 28], "little"), int.from_bytes(content[member.header_offset + 28 : member.header_offset + 30], "little")
    start = member.header_offset + 30 + name_length + extra_length  # the weights' deflate stream
    content[start : start + 8] = b"\xff" * 8  # an invalid block type: inflating it fails
    with pytest.raises(CheckpointError, match="not a valid model file"):
        load(io.BytesIO(bytes(content)))


def test_a_collection_of_compressed_runs_is_refused_before_unpacking(saved):
    path, _, _ = saved
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("checkpoint_000.npz", bytes(50 << 20))  # 50 MB of zeros packs into kilobytes
    assert len(buffer.getvalue()) < 1 << 20
    with pytest.raises(CheckpointError, match="compressed"):
        load_many(io.BytesIO(buffer.getvalue()))
