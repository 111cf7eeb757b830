"""How long the analysis pages' engine calls take on a real corpus (issue 11).

    .venv/bin/python benchmarks/analysis_speed.py [--corpus PATH] [--repeats 5]

On the corpus (default ../shared/data/tinyshakespeare.txt; where it is missing, about 1 MB of
the standard library's sources) with its last 10% held out, for an untrained GRU of hidden
size 128 (the timings depend on the sizes, not on what the weights learnt): the n-gram
baselines, building the memorised index of the training part, marking 5,000-character samples,
an input attribution with the default lookback, the embedding map and the hidden-state map.
Each figure is the median of `repeats` runs, with the fastest; one BLAS thread, as in the app.
"""

import os

for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import load_corpus  # noqa: E402
from rnn_core import CharRNN, Vocab, sample, split_validation  # noqa: E402
from rnn_core.attribution import input_attribution  # noqa: E402
from rnn_core.baselines import ngram_baselines  # noqa: E402
from rnn_core.memorised import TextIndex  # noqa: E402
from rnn_core.projection import embedding_map, hidden_map  # noqa: E402


def timed(run, repeats):
    """(median seconds, fastest seconds, last result) of `repeats` calls of run()."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), min(seconds), result


def spliced_sample(text, length, seed=0):
    """Pieces of the text 5 to 60 characters long, each followed by a stray character: a sample that copies often."""
    rng = np.random.default_rng(seed)
    pieces, total = [], 0
    while total < length:
        start, size = rng.integers(0, len(text) - 60), rng.integers(5, 61)
        pieces.append(text[start : start + size] + "\x00")
        total += size + 1
    return "".join(pieces)[:length]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="a UTF-8 text (default: ../shared/data/tinyshakespeare.txt)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    text, source = load_corpus(args.corpus, size=1_000_000)
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    train_ids, val_ids = split_validation(ids, 0.1)
    train_text = text[: len(train_ids)]
    model = CharRNN(len(vocab), 128, "gru")
    model_sample = sample(model, vocab, text[:4], 5000, seed=0)
    copying_sample = spliced_sample(train_text, 5000)
    print(f"corpus: {source}, {len(text):,} characters, {len(vocab)} symbols; GRU H=128, untrained; median (fastest) of {args.repeats} runs")

    def report(label, run):
        median, fastest, result = timed(run, args.repeats)
        print(f"{label:<64}{median * 1000:>9.1f} ms ({fastest * 1000:.1f})", flush=True)
        return result

    baselines = report("n-gram baselines (uniform, unigram, bigram)", lambda: ngram_baselines(train_ids, val_ids, len(vocab)))
    print(f"{'':<4}bits per character on the held-out part: uniform {baselines.uniform:.3f}, unigram {baselines.unigram:.3f}, bigram {baselines.bigram:.3f}")
    index = report(f"memorised index of the training part ({len(train_text):,} chars)", lambda: TextIndex(train_text))
    copied = report("mark a 5,000-char sample of the model, min_length 12", lambda: index.find_copied(model_sample, 12))
    print(f"{'':<4}new share {copied.new_share:.3f} (an untrained model copies nothing long)")
    copied = report("mark a 5,000-char sample spliced from the text, min_length 12", lambda: index.find_copied(copying_sample, 12))
    print(f"{'':<4}new share {copied.new_share:.3f}, {len(copied.spans)} spans")
    new_lengths = iter(range(20, 20 + args.repeats))  # each run a length not asked for before: its hashes are sorted first
    report("mark it at a new min_length (20, 21, ...: first use)", lambda: index.find_copied(copying_sample, next(new_lengths)))
    position = len(train_ids) + len(val_ids) // 2
    report("input attribution, default lookback (100)", lambda: input_attribution(model, ids, position))
    report("embedding map", lambda: embedding_map(model))
    report("hidden-state map (default 3,000 positions)", lambda: hidden_map(model, ids))
    print(f"numpy {np.__version__}, {os.environ['OPENBLAS_NUM_THREADS']} BLAS thread(s)")


if __name__ == "__main__":
    main()
