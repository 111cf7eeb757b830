"""The benchmark corpus: a text file if it exists, else Python's own standard library sources."""

import sysconfig
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tinyshakespeare.txt"


def load_corpus(path=None, size=1_100_000):
    """The text at `path` (default: ../shared/data/tinyshakespeare.txt) or, where it is missing,
    about `size` characters of the standard library's .py files, so the benchmarks run anywhere."""
    path = Path(path) if path else DEFAULT_CORPUS
    if path.is_file():
        return path.read_text(encoding="utf-8"), str(path)
    parts, total = [], 0
    for source in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        text = source.read_text(encoding="utf-8", errors="ignore")
        parts.append(text)
        total += len(text)
        if total >= size:
            break
    return "".join(parts)[:size], "the standard library's sources (no corpus file found)"
