"""Peak resident memory while training configuration (d), LSTM H=256 B=32 T=64, on the corpus.

    .venv/bin/python benchmarks/memory.py [--corpus PATH] [--epochs 1]

Only rnn_core and numpy are imported, so the figure is the engine's own.
"""

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import load_corpus  # noqa: E402
from rnn_core import CharRNN, Trainer, Vocab  # noqa: E402


def resident_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    text, source = load_corpus(args.corpus)
    before = resident_mb()
    vocab = Vocab.from_text(text)
    model = CharRNN(len(vocab), 256, "lstm")
    trainer = Trainer(model, vocab.encode(text), seq_len=64, batch_size=32, optimizer="adam", lr=2e-3, val_fraction=0.1)
    started = time.perf_counter()
    trainer.train(args.epochs)
    stats = trainer.history[-1]
    print(f"corpus: {source}, {len(text):,} characters")
    print(f"trained {args.epochs} epoch(s) in {time.perf_counter() - started:.0f} s, val loss {stats.val_loss:.3f}")
    print(f"peak resident memory: {resident_mb():.0f} MB (after imports: {before:.0f} MB)")


if __name__ == "__main__":
    main()
