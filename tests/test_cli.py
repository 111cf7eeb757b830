import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELP = ROOT / "assets" / "help.txt"


def cli(*args, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "rnn_core", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def help_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "help.npz"
    result = cli(
        "train", HELP, "--cell", "rnn", "--hidden-size", 100, "--seq-len", 4, "--batch-size", 1, "--optimizer", "adagrad", "--lr", 0.1, "--epochs", 300, "--val-fraction", 0, "--out", out
    )
    return out, result


def test_help_train_prints_json_per_epoch_and_learns(help_model):
    out, result = help_model
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 300
    for key in ("epoch", "train_loss", "val_loss", "chars_per_sec", "seconds"):
        assert key in lines[-1]
    assert lines[-1]["val_loss"] is None
    assert lines[-1]["train_loss"] < 0.05
    assert out.exists()
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_help_greedy_sample_says_help(help_model):
    out, _ = help_model
    assert cli("sample", out, "--prime", "h", "--length", 4, "--greedy").stdout == "help!\n"


def test_sample_seed_reproduces_and_options_work(help_model):
    out, _ = help_model
    first = cli("sample", out, "--prime", "he", "--length", 30, "--temperature", 1.5, "--top-k", 3, "--top-p", 0.9, "--seed", 4).stdout
    again = cli("sample", out, "--prime", "he", "--length", 30, "--temperature", 1.5, "--top-k", 3, "--top-p", 0.9, "--seed", 4).stdout
    assert first == again and first.startswith("he") and len(first) == 2 + 30 + 1


def test_validation_loss_reported(tmp_path):
    corpus = tmp_path / "text.txt"
    corpus.write_text("abcabcabd " * 200, encoding="utf-8")
    result = cli("train", corpus, "--cell", "gru", "--hidden-size", 8, "--epochs", 2, "--batch-size", 4, "--seq-len", 16, "--val-fraction", 0.1, "--out", tmp_path / "m.npz")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2]
    assert lines[-1]["val_loss"] > 0


def test_max_seconds_stops_and_saves(tmp_path):
    corpus = tmp_path / "text.txt"
    corpus.write_text("the cat sat on the mat. " * 2000, encoding="utf-8")
    out = tmp_path / "m.npz"
    result = cli("train", corpus, "--epochs", 100000, "--max-seconds", 1, "--hidden-size", 16, "--out", out)
    assert len(result.stdout.splitlines()) < 100000 and out.exists()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradcheck_passes(cell):
    result = cli("gradcheck", "--cell", cell, "--layers", 2)
    worst = float(result.stdout.split("worst relative error")[1])
    assert worst < 1e-5


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


BAD_TRAIN = {
    "missing file": (lambda tmp: [tmp / "nope.txt"], "no such file"),
    "empty file": (lambda tmp: [write(tmp, "empty.txt", b"")], "is empty"),
    "binary file": (lambda tmp: [write(tmp, "bin.txt", bytes(range(256)))], "binary"),
    "not utf-8": (lambda tmp: [write(tmp, "latin1.txt", "café olé".encode("latin-1"))], "not UTF-8"),
    "a folder": (lambda tmp: [tmp], "folder"),
    "zero hidden size": (lambda tmp: [HELP, "--hidden-size", "0"], "at least 1"),
    "negative layers": (lambda tmp: [HELP, "--layers", "-2"], "at least 1"),
    "nan learning rate": (lambda tmp: [HELP, "--lr", "nan"], "--lr"),
    "negative learning rate": (lambda tmp: [HELP, "--lr", "-0.1"], "--lr"),
    "unknown cell": (lambda tmp: [HELP, "--cell", "transformer"], "invalid choice"),
    "unknown optimizer": (lambda tmp: [HELP, "--optimizer", "lbfgs"], "invalid choice"),
    "text too short for batch": (lambda tmp: [HELP, "--val-fraction", "0", "--batch-size", "8"], "lower the batch size"),
    "text too short for validation": (lambda tmp: [HELP], "validation"),
    "non-numeric size": (lambda tmp: [HELP, "--seq-len", "ten"], "not a whole number"),
    "huge hidden size": (lambda tmp: [HELP, "--val-fraction", "0", "--batch-size", "1", "--hidden-size", "1000000"], "GiB"),
    "huge number of layers": (lambda tmp: [HELP, "--val-fraction", "0", "--batch-size", "1", "--hidden-size", "4096", "--layers", "100000"], "GiB"),
    "unwritable output": (lambda tmp: [HELP, "--val-fraction", "0", "--batch-size", "1", "--seq-len", "4", "--epochs", "1", "--out", tmp / "no" / "dir" / "m.npz"], "cannot save"),
}


@pytest.mark.parametrize("case", BAD_TRAIN)
def test_bad_train_arguments_give_one_line_and_no_traceback(case, tmp_path):
    make_args, expected = BAD_TRAIN[case]
    args = make_args(tmp_path)
    if "--out" not in args:
        args += ["--out", tmp_path / "out.npz"]
    result = cli("train", *args, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr


BAD_SAMPLE = {
    "unknown prime characters": (["--prime", "xyz"], "'x'"),
    "zero temperature": (["--temperature", "0"], "--temperature"),
    "negative temperature": (["--temperature", "-1"], "--temperature"),
    "top-p zero": (["--top-p", "0"], "--top-p"),
    "top-p above one": (["--top-p", "1.5"], "--top-p"),
    "negative length": (["--length", "-5"], "--length"),
}


@pytest.mark.parametrize("case", BAD_SAMPLE)
def test_bad_sample_arguments(case, help_model):
    out, _ = help_model
    extra, expected = BAD_SAMPLE[case]
    result = cli("sample", out, *extra, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr


@pytest.mark.parametrize(
    "make_file,expected",
    [
        (lambda tmp: tmp / "missing.npz", "does not exist"),
        (lambda tmp: HELP, "not a valid model file"),
        (lambda tmp: write(tmp, "pickle.npz", b"\x80\x04\x95" + b"\x00" * 20), "not a valid model file"),
    ],
)
def test_bad_model_files(make_file, expected, tmp_path):
    result = cli("sample", make_file(tmp_path), check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr


def test_divergence_is_a_clear_error_and_keeps_the_last_good_model(tmp_path):
    corpus = write(tmp_path, "t.txt", ("abcdefgh " * 300).encode())
    out = tmp_path / "m.npz"
    result = cli("train", corpus, "--cell", "rnn", "--optimizer", "sgd", "--lr", "1e9", "--clip", "0", "--out", out, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "learning rate 1e+09" in result.stderr and out.exists()
    assert "error: Training diverged" in result.stderr and "too high for SGD;" in result.stderr
    assert "The last good parameters were restored. Saved them to" in result.stderr
    assert cli("sample", out, "--prime", "a", "--length", 5).stdout.startswith("a")
