"""The command line: python -m rnn_core train | sample | gradcheck.

train prints one JSON line per epoch on stdout and, when it stops early (--max-seconds,
--max-steps or Ctrl-C), a last line of "kind": "final" saying why and how good the saved model is.
"""

import argparse
import json
import math
import os
import sys

from .cells import CELLS
from .checkpoint import CheckpointError, load, save
from .gradcheck import gradient_check
from .model import CharRNN, param_shapes
from .optim import OPTIMIZERS
from .sample import sample_stream
from .schedule import SCHEDULES
from .train import LN2, DivergenceError, Trainer
from .vocab import Vocab

GRADCHECK_LIMIT = 1e-5


class UsageError(Exception):
    """A bad argument or file, reported as one line on stderr."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def non_negative_int(text):
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of at least 0")
    return value


def finite_float(low, high=math.inf, low_open=True):
    """A number in (low, high], or [low, high] when low_open is False."""
    if high == math.inf:
        allowed = f"above {low:g}" if low_open else f"at least {low:g}"
    else:
        allowed = f"above {low:g} and at most {high:g}" if low_open else f"between {low:g} and {high:g}"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        below = value <= low if low_open else value < low
        if math.isnan(value) or below or value > high:
            raise argparse.ArgumentTypeError(f"must be a number {allowed}, not {text}")
        return value

    return parse


def dropout_fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number at least 0 and below 1, not {text}")
    return value


def read_corpus(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise UsageError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"cannot read {path}: it is a folder, not a text file") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    if not data:
        raise UsageError(f"{path} is empty: give a text to train on")
    if b"\0" in data:
        raise UsageError(f"{path} looks like a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None


def build_parser():
    parser = Parser(prog="python -m rnn_core", description="Train and sample character-level RNNs (numpy only).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    train = commands.add_parser("train", help="train a model on a UTF-8 text file")
    train.add_argument("corpus", help="the training text (UTF-8)")
    add_training_options(train)
    train.add_argument("--out", default="model.npz", help="where to save the model (.npz)")

    sample = commands.add_parser("sample", help="generate text from a saved model")
    sample.add_argument("model", help="a model saved by train (.npz)")
    sample.add_argument("--prime", default="", help="text to start from (default: a random character)")
    sample.add_argument("--length", type=non_negative_int, default=200)
    sample.add_argument("--temperature", type=finite_float(0), default=1.0)
    sample.add_argument("--top-k", type=positive_int, default=None)
    sample.add_argument("--top-p", type=finite_float(0, 1), default=None)
    sample.add_argument("--greedy", action="store_true")
    sample.add_argument("--seed", type=int, default=None)

    check = commands.add_parser("gradcheck", help="compare analytic and numerical gradients")
    check.add_argument("--cell", choices=sorted(CELLS), default="rnn")
    check.add_argument("--layers", type=positive_int, default=1)
    return parser


def add_training_options(parser):
    """The train command's options for the model and its training (benchmarks/quality.py takes them too)."""
    parser.add_argument("--cell", choices=sorted(CELLS), default="lstm")
    parser.add_argument("--hidden-size", type=positive_int, default=128)
    parser.add_argument("--layers", type=positive_int, default=1)
    parser.add_argument("--dropout", type=dropout_fraction, default=0.0, help="the fraction of each layer's outputs dropped in training, from 0 to below 1")
    parser.add_argument("--seq-len", type=positive_int, default=64)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    parser.add_argument("--lr", type=finite_float(0), default=2e-3, help="learning rate, above 0")
    parser.add_argument("--lr-schedule", choices=SCHEDULES, default="constant", help="constant, or falling from --lr to --lr-final of it by the last epoch")
    parser.add_argument("--lr-final", type=finite_float(0, 1), default=0.1, metavar="FRACTION", help="the fraction of --lr a linear or cosine schedule falls to")
    parser.add_argument("--warmup", type=non_negative_int, default=0, metavar="STEPS", help="steps over which the learning rate first climbs linearly to --lr")
    parser.add_argument("--clip", type=finite_float(0, low_open=False), default=5.0, help="global gradient-norm clip (0: none)")
    parser.add_argument("--epochs", type=positive_int, default=10)
    parser.add_argument("--val-fraction", type=finite_float(0, 0.99, low_open=False), default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bptt-horizon", type=non_negative_int, default=0, help="steps the gradient flows back (0: the whole window)")
    parser.add_argument("--max-seconds", type=finite_float(0), default=None, help="stop after this much training time")
    parser.add_argument("--max-steps", type=positive_int, default=None, help="stop after this many steps")


class ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, epochs):
        self.epochs = epochs
        self.enabled = sys.stderr.isatty()

    def __call__(self, event):
        if not self.enabled:
            return
        done = event["epoch"] / self.epochs
        bar = "#" * int(30 * done)
        sys.stderr.write(f"\r[{bar:<30}] epoch {event['epoch']:.2f}/{self.epochs} loss {event['train_loss']:.3f} {event['chars_per_sec']:,.0f} chars/s")
        sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\n")


def check_memory(vocab_size, args):
    """Refuse a model whose weights, gradients and optimiser state would not fit in half the memory."""
    count = sum(math.prod(shape) for shape in param_shapes(vocab_size, args.hidden_size, args.cell, args.layers).values())
    needed = count * 4 * 6  # float32 weights, gradients, two optimiser slots, a snapshot, scratch
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > available // 2:
        raise UsageError(
            f"a model of hidden size {args.hidden_size} with {args.layers} layer(s) needs about {needed / 2**30:.1f} GiB; "
            f"this machine has {available / 2**30:.1f} GiB: use a smaller --hidden-size or --layers"
        )


def make_trainer(text, args, report_every=None):
    """(vocab, Trainer) for `text` with the options of add_training_options; UsageError for bad ones."""
    vocab = Vocab.from_text(text)
    check_memory(len(vocab), args)
    try:
        model = CharRNN(len(vocab), args.hidden_size, cell=args.cell, num_layers=args.layers, seed=args.seed, bptt_horizon=args.bptt_horizon, dropout=args.dropout)
        trainer = Trainer(
            model,
            vocab.encode(text),
            args.seq_len,
            args.batch_size,
            args.optimizer,
            args.lr,
            args.clip,
            args.val_fraction,
            report_every=report_every,
            lr_schedule=args.lr_schedule,
            lr_final=args.lr_final,
            warmup=args.warmup,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    return vocab, trainer


def final_report(trainer, reason):
    """Where training stopped and how good the model is there: {"kind": "final", "reason", "epoch"
    (a fraction), "steps" (in all), "val_loss" (nats per character), "val_bpc"}, None without validation."""
    val_loss = trainer.validation_loss()
    return {
        "kind": "final",
        "reason": reason,
        "epoch": trainer.epoch_fraction,
        "steps": trainer.global_step,
        "val_loss": val_loss,
        "val_bpc": None if val_loss is None else val_loss / LN2,
    }


def run_train(args):
    text = read_corpus(args.corpus)
    vocab, trainer = make_trainer(text, args, report_every=10 if sys.stderr.isatty() else None)
    bar = ProgressBar(args.epochs)

    def report(event):
        if event["kind"] == "epoch":
            print(json.dumps(event), flush=True)
        bar(event)

    try:
        reason = trainer.train(args.epochs, max_steps=args.max_steps, max_seconds=args.max_seconds, callback=report)
    except DivergenceError as error:
        bar.close()
        save_model(args.out, trainer.model, vocab, trainer)
        raise UsageError(f"{error} Saved them to {args.out}.") from None
    except KeyboardInterrupt:
        bar.close()
        save_model(args.out, trainer.model, vocab, trainer)
        print(json.dumps(final_report(trainer, "interrupted")), flush=True)
        raise UsageError(f"interrupted; the model so far was saved to {args.out}") from None
    bar.close()
    save_model(args.out, trainer.model, vocab, trainer)
    # A finished run's last epoch line already gives the validation loss of the saved model.
    if reason != "done":
        print(json.dumps(final_report(trainer, reason)), flush=True)


def save_model(path, model, vocab, trainer):
    try:
        save(path, model, vocab, {"history": [stats.to_dict() for stats in trainer.history]})
    except OSError as error:
        raise UsageError(f"cannot save the model to {path}: {error.strerror or error}") from None


def run_sample(args):
    try:
        checkpoint = load(args.model)
    except CheckpointError as error:
        raise UsageError(f"cannot load {args.model}: {error}") from None
    try:
        stream = sample_stream(
            checkpoint.model, checkpoint.vocab, args.prime, args.length, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, greedy=args.greedy, seed=args.seed
        )
    except ValueError as error:
        raise UsageError(f"{error} (in --prime)" if "does not know" in str(error) else str(error)) from None
    sys.stdout.write(args.prime)
    for char in stream:
        sys.stdout.write(char)
    sys.stdout.write("\n")


def run_gradcheck(args):
    worst = gradient_check(args.cell, args.layers)
    print(f"{args.cell} layers={args.layers}: worst relative error {worst:.3e}")
    if worst > GRADCHECK_LIMIT:
        raise UsageError(f"gradient check failed: {worst:.3e} is above {GRADCHECK_LIMIT:g}")


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        {"train": run_train, "sample": run_sample, "gradcheck": run_gradcheck}[args.command](args)
    except UsageError as error:
        print(f"rnn_core: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnn_core: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except MemoryError:
        print("rnn_core: error: not enough memory for this model and text: use smaller sizes", file=sys.stderr)
        return 2
    return 0
