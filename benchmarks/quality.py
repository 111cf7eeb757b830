"""Validation bits per character after a fixed training time on a corpus.

    .venv/bin/python benchmarks/quality.py [--corpus PATH] [--seconds 120] [--cell lstm] [--hidden-size 256] ...

The first 90% of the corpus is the training text; validation is the first 50,000 characters of
the rest. With --torch the same model is also trained in PyTorch (CPU, 2 threads) for comparison.
"""

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import load_corpus  # noqa: E402
from rnn_core import CharRNN, Trainer, Vocab, evaluate  # noqa: E402

VALIDATION_CHARS = 50_000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--decay", type=float, default=1.0, help="the learning rate falls linearly to lr * decay by the end")
    parser.add_argument("--torch", action="store_true", help="also train the same model in PyTorch")
    args = parser.parse_args()

    text, source = load_corpus(args.corpus)
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    split = int(len(ids) * 0.9)
    train_ids, val_ids = ids[:split], ids[split : split + VALIDATION_CHARS]
    label = f"{args.cell} H={args.hidden_size} L={args.layers} B={args.batch_size} T={args.seq_len} {args.optimizer} lr={args.lr:g} decay={args.decay:g}"
    print(f"corpus: {source}; {len(train_ids):,} training and {len(val_ids):,} validation characters; {args.seconds:g} s")

    model = CharRNN(len(vocab), args.hidden_size, args.cell, args.layers, seed=args.seed)
    trainer = Trainer(model, train_ids, args.seq_len, args.batch_size, args.optimizer, args.lr, clip=5.0, val_fraction=0, report_every=10)
    started = time.perf_counter()

    def schedule(event):
        done = min((time.perf_counter() - started) / args.seconds, 1.0)
        trainer.optimizer.lr = args.lr * (1 - done * (1 - args.decay))

    trainer.train(epochs=10**6, max_seconds=args.seconds, callback=schedule)
    seconds = time.perf_counter() - started
    val_bpc = evaluate(model, val_ids, seq_len=256, batch_size=1) / math.log(2)
    print(f"rnn_core {label}: validation {val_bpc:.3f} bits/char after {trainer.epoch_fraction:.2f} epochs in {seconds:.0f} s")

    if args.torch:
        from benchmarks.torch_reference import torch_train_for_seconds

        result = torch_train_for_seconds(
            train_ids, val_ids, len(vocab), args.cell, args.hidden_size, args.layers, args.batch_size, args.seq_len, args.lr, args.seconds, args.seed
        )
        print(f"PyTorch  {label}: validation {result['val_bpc']:.3f} bits/char, {result['chars_per_sec']:,.0f} chars/s")


if __name__ == "__main__":
    main()
