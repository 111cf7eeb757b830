"""Training throughput of rnn_core beside a min-char-rnn-style reference and PyTorch (CPU, 2 threads).

    .venv/bin/python benchmarks/throughput.py [--corpus PATH] [--repeats 5] [--seconds 1.5]

For each configuration, each implementation trains on the corpus (Adagrad, lr 0.01, clip 5; min-char-rnn keeps its lr 0.1) for a
few warm-up steps, then `repeats` timed runs of about `seconds` each; the table gives the median
characters per second and the ratios. PyTorch is measured only when it is importable.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import load_corpus  # noqa: E402
from benchmarks.minchar_reference import minchar_chars_per_sec  # noqa: E402
from rnn_core import CharRNN, Trainer, Vocab  # noqa: E402

CONFIGS = {
    "a": ("rnn", 100, 1, 25),
    "b": ("rnn", 128, 32, 64),
    "c": ("rnn", 512, 64, 64),
    "d": ("lstm", 256, 32, 64),
    "e": ("gru", 256, 32, 64),
    "f": ("lstm", 128, 32, 64),
}


def steps_for(seconds, measure_one):
    """How many steps fill about `seconds`, from the time of a few."""
    started = time.perf_counter()
    measure_one(3)
    per_step = (time.perf_counter() - started) / 3
    return max(3, int(seconds / per_step))


def median_rate(run, steps, chars_per_step, repeats):
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(steps)
        rates.append(steps * chars_per_step / (time.perf_counter() - started))
    return statistics.median(rates)


def rnn_core_rate(ids, vocab_size, cell, hidden_size, batch_size, seq_len, repeats, seconds):
    model = CharRNN(vocab_size, hidden_size, cell)
    trainer = Trainer(model, ids, seq_len, batch_size, "adagrad", 0.01, clip=5.0, val_fraction=0)

    def run(steps):
        trainer.train(epochs=10**9, max_steps=steps)

    run(10)
    return median_rate(run, steps_for(seconds, run), batch_size * seq_len, repeats)


def minchar_rate(ids, vocab_size, hidden_size, seq_len, repeats, seconds):
    probe = minchar_chars_per_sec(ids, vocab_size, hidden_size, seq_len, 2, 5)
    steps = max(3, int(seconds * probe / seq_len))
    return statistics.median(minchar_chars_per_sec(ids, vocab_size, hidden_size, seq_len, 3, steps) for _ in range(repeats))


def torch_rate(torch_reference, ids, vocab_size, cell, hidden_size, batch_size, seq_len, repeats, seconds):
    probe = torch_reference.torch_chars_per_sec(ids, vocab_size, cell, hidden_size, 1, batch_size, seq_len, 5, 5)
    steps = max(3, int(seconds * probe / (batch_size * seq_len)))
    return statistics.median(torch_reference.torch_chars_per_sec(ids, vocab_size, cell, hidden_size, 1, batch_size, seq_len, 5, steps) for _ in range(repeats))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="a UTF-8 text (default: ../shared/data/tinyshakespeare.txt)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.5, help="length of one timed run")
    parser.add_argument("--configs", default="abcdef")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()

    text, source = load_corpus(args.corpus)
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    torch_reference = None
    if not args.no_torch:
        try:
            from benchmarks import torch_reference
        except ImportError:
            print("PyTorch is not importable: its column is left out.")
    print(f"corpus: {source}, {len(text):,} characters, {len(vocab)} symbols; median of {args.repeats} runs of ~{args.seconds:g} s")
    print(f"{'config':<26}{'rnn_core':>12}{'min-char':>12}{'PyTorch':>12}{'vs min-char':>13}{'vs PyTorch':>12}")
    for name in args.configs:
        cell, hidden_size, batch_size, seq_len = CONFIGS[name]
        label = f"({name}) {cell} H={hidden_size} B={batch_size} T={seq_len}"
        ours = rnn_core_rate(ids, len(vocab), cell, hidden_size, batch_size, seq_len, args.repeats, args.seconds)
        reference = minchar_rate(ids, len(vocab), hidden_size, seq_len, args.repeats, args.seconds)
        row = f"{label:<26}{ours:>12,.0f}{reference:>12,.0f}"
        if torch_reference is not None:
            theirs = torch_rate(torch_reference, ids, len(vocab), cell, hidden_size, batch_size, seq_len, args.repeats, args.seconds)
            row += f"{theirs:>12,.0f}{ours / reference:>12.1f}x{ours / theirs:>11.2f}x"
        else:
            row += f"{'-':>12}{ours / reference:>12.1f}x{'-':>12}"
        print(row, flush=True)
    print("min-char is always a vanilla RNN, batch 1, float64, at the configuration's H and T.")
    print(f"numpy {np.__version__}")


if __name__ == "__main__":
    main()
