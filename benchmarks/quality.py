"""Validation bits per character after training as the command line does, by default for 120 s.

    .venv/bin/python benchmarks/quality.py [--corpus PATH] [--max-seconds 120] [--cell lstm] [--hidden-size 256]
        [--lr-schedule cosine --lr-final 0.05 --warmup 100 --epochs 5] [--dropout 0.2] ...

It takes the options of `python -m rnn_core train` (only the defaults of --hidden-size and
--max-seconds differ) and goes through the same code: the same trainer, the same training and the
figure of the command line's final report, the loss on the last --val-fraction of the corpus. A
decaying schedule falls over --epochs: choose epochs that fit in the time. With --torch the same
model is also trained in PyTorch (CPU, 2 threads, Adam at a constant rate) for comparison.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import load_corpus  # noqa: E402
from rnn_core import split_validation  # noqa: E402
from rnn_core.cli import UsageError, add_training_options, final_report, make_trainer  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus")
    add_training_options(parser)
    parser.set_defaults(hidden_size=256, max_seconds=120.0)
    parser.add_argument("--torch", action="store_true", help="also train the same model in PyTorch")
    return parser


def measure(args, text):
    """Train on `text` as the command line would with `args`: (final report, vocab, seconds)."""
    vocab, trainer = make_trainer(text, args)
    started = time.perf_counter()
    reason = trainer.train(args.epochs, max_steps=args.max_steps, max_seconds=args.max_seconds)
    seconds = time.perf_counter() - started
    return final_report(trainer, reason), vocab, seconds


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.torch and (args.lr_schedule != "constant" or args.dropout > 0 or args.max_seconds is None or args.val_fraction == 0):
        parser.error("--torch trains PyTorch for --max-seconds at a constant rate without dropout and measures it on the validation text")
    text, source = load_corpus(args.corpus)
    try:
        report, vocab, seconds = measure(args, text)
    except UsageError as error:
        parser.error(str(error))
    schedule = args.lr_schedule if args.lr_schedule == "constant" else f"{args.lr_schedule} to {args.lr_final:g} over {args.epochs} epochs"
    label = f"{args.cell} H={args.hidden_size} L={args.layers} B={args.batch_size} T={args.seq_len} {args.optimizer} lr={args.lr:g} {schedule}"
    label += f" warmup={args.warmup} dropout={args.dropout:g}"
    print(f"corpus: {source}; {len(text):,} characters, the last {args.val_fraction:g} for validation")
    if report["val_bpc"] is None:
        print(f"rnn_core {label}: no validation text (--val-fraction 0)")
    else:
        print(f"rnn_core {label}: validation {report['val_bpc']:.3f} bits/char after {report['epoch']:.2f} epochs ({report['reason']}) in {seconds:.0f} s")

    if args.torch:
        from benchmarks.torch_reference import torch_train_for_seconds

        train_ids, val_ids = split_validation(vocab.encode(text), args.val_fraction)
        result = torch_train_for_seconds(
            train_ids, val_ids, len(vocab), args.cell, args.hidden_size, args.layers, args.batch_size, args.seq_len, args.lr, args.max_seconds, args.seed
        )
        print(f"PyTorch  {label}: validation {result['val_bpc']:.3f} bits/char, {result['chars_per_sec']:,.0f} chars/s")


if __name__ == "__main__":
    main()
