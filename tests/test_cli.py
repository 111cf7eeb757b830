import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_core import Trainer, Vocab, evaluate, load

ROOT = Path(__file__).resolve().parent.parent
HELP = ROOT / "assets" / "help.txt"


def command(*args):
    return [sys.executable, "-m", "rnn_core", *map(str, args)]


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*args, check=True):
    result = subprocess.run(command(*args), cwd=ROOT, capture_output=True, text=True, timeout=120, env=ENV)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


CAT = "the cat sat on the mat. " * 300
# a small GRU and 16-character windows in 4 streams: 101 steps an epoch on CAT
SMALL = ("--cell", "gru", "--hidden-size", 8, "--batch-size", 4, "--seq-len", 16)


def saved_validation(out, text, val_fraction=0.1):
    """(validation loss of the model saved at `out`, steps per epoch), measured here as the trainer measures it."""
    model = load(out).model
    trainer = Trainer(model, Vocab.from_text(text).encode(text), seq_len=16, batch_size=4, val_fraction=val_fraction)
    return (evaluate(model, trainer.val_windows) if val_fraction else None), trainer.steps_per_epoch


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


def test_max_seconds_stops_and_saves_and_says_so_last(tmp_path):
    corpus = write(tmp_path, "text.txt", CAT.encode())
    out = tmp_path / "m.npz"
    result = cli("train", corpus, *SMALL, "--epochs", 100000, "--max-seconds", 1, "--val-fraction", 0, "--out", out)
    *epochs, final = json_lines(result.stdout)
    assert 0 < len(epochs) < 100000 and all(line["kind"] == "epoch" for line in epochs)
    _, steps_per_epoch = saved_validation(out, CAT, val_fraction=0)
    assert final["kind"] == "final" and final["reason"] == "time"
    assert final["steps"] >= len(epochs) * steps_per_epoch and final["epoch"] == pytest.approx(final["steps"] / steps_per_epoch)
    assert final["val_loss"] is None and final["val_bpc"] is None


def test_max_steps_ends_with_the_validation_loss_of_the_saved_model(tmp_path):
    corpus, out = write(tmp_path, "text.txt", CAT.encode()), tmp_path / "m.npz"
    result = cli("train", corpus, *SMALL, "--epochs", 3, "--max-steps", 7, "--out", out)
    expected, steps_per_epoch = saved_validation(out, CAT)
    assert json_lines(result.stdout) == [
        {"kind": "final", "reason": "steps", "epoch": 7 / steps_per_epoch, "steps": 7, "val_loss": expected, "val_bpc": expected / math.log(2)}
    ]


def test_a_finished_run_has_no_final_line(tmp_path):
    corpus = write(tmp_path, "text.txt", CAT.encode())
    result = cli("train", corpus, *SMALL, "--epochs", 2, "--max-steps", 1000, "--out", tmp_path / "m.npz")
    assert [line["kind"] for line in json_lines(result.stdout)] == ["epoch", "epoch"]


def answer_ctrl_c():
    # A job started in the background by a shell without job control (`cmd &` in a script) ignores
    # Ctrl-C, and its children inherit that: Python then never raises KeyboardInterrupt. A user's
    # terminal does not ignore it, so neither does the trainer this test starts.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_saves_the_model_and_prints_the_final_line(tmp_path):
    corpus, out = write(tmp_path, "text.txt", CAT.encode()), tmp_path / "m.npz"
    process = subprocess.Popen(command("train", corpus, *SMALL, "--epochs", 100000, "--out", out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, preexec_fn=answer_ctrl_c)
    try:
        first = json.loads(process.stdout.readline())  # training is under way
        process.send_signal(signal.SIGINT)
        rest, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert first["kind"] == "epoch"
    assert process.returncode == 2 and "Traceback" not in stderr
    assert stderr.strip() == f"rnn_core: error: interrupted; the model so far was saved to {out}"
    *epochs, final = json_lines(rest)
    assert all(line["kind"] == "epoch" for line in epochs)
    expected, steps_per_epoch = saved_validation(out, CAT)
    assert final == {
        "kind": "final",
        "reason": "interrupted",
        "epoch": final["steps"] / steps_per_epoch,
        "steps": final["steps"],
        "val_loss": expected,
        "val_bpc": expected / math.log(2),
    }
    assert final["steps"] >= (1 + len(epochs)) * steps_per_epoch


def test_schedule_warm_up_and_dropout_reach_the_trainer(tmp_path):
    corpus, out = write(tmp_path, "text.txt", CAT.encode()), tmp_path / "m.npz"
    options = ("--lr", 0.01, "--lr-schedule", "cosine", "--lr-final", 0.25, "--warmup", 10, "--dropout", 0.2)
    lines = json_lines(cli("train", corpus, *SMALL, *options, "--epochs", 3, "--out", out).stdout)
    steps = lines[0]["steps"]
    decay_steps = 3 * steps - 1 - 10
    expected = [0.01 * (0.25 + 0.75 * (1 + math.cos(math.pi * (epoch * steps - 1 - 10) / decay_steps)) / 2) for epoch in (1, 2, 3)]
    assert [line["lr"] for line in lines] == pytest.approx(expected, rel=1e-12)
    assert lines[-1]["lr"] == pytest.approx(0.0025)
    assert load(out).model.dropout == 0.2
    # a warm-up longer than the run: the rate only climbs, to steps / 1000 of --lr by the end of epoch 1
    lines = json_lines(cli("train", corpus, *SMALL, "--lr", 0.01, "--warmup", 1000, "--epochs", 1, "--out", out).stdout)
    assert lines[0]["lr"] == pytest.approx(0.01 * steps / 1000)


def test_the_quality_benchmark_gives_the_command_lines_figure(tmp_path):
    from benchmarks.quality import build_parser, measure

    corpus, out = write(tmp_path, "text.txt", CAT.encode()), tmp_path / "m.npz"
    options = [*map(str, SMALL), "--lr-schedule", "linear", "--lr-final", "0.3", "--warmup", "4", "--dropout", "0.25", "--epochs", "2", "--max-steps", "30", "--seed", "5"]
    (final,) = json_lines(cli("train", corpus, *options, "--out", out).stdout)
    report, _, _ = measure(build_parser().parse_args(["--corpus", str(corpus), *options]), CAT)
    assert report == final and final["reason"] == "steps" and final["val_loss"] > 0


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
    "unknown schedule": (lambda tmp: [HELP, "--lr-schedule", "step"], "invalid choice"),
    "final fraction 0": (lambda tmp: [HELP, "--lr-final", "0"], "--lr-final"),
    "final fraction above 1": (lambda tmp: [HELP, "--lr-final", "1.5"], "--lr-final"),
    "negative warm-up": (lambda tmp: [HELP, "--warmup", "-1"], "--warmup"),
    "dropout of 1": (lambda tmp: [HELP, "--dropout", "1"], "--dropout"),
    "negative dropout": (lambda tmp: [HELP, "--dropout", "-0.5"], "--dropout"),
    "non-numeric dropout": (lambda tmp: [HELP, "--dropout", "half"], "not a number"),
    "zero steps": (lambda tmp: [HELP, "--max-steps", "0"], "--max-steps"),
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
