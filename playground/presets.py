"""Training texts to pick from: short ones the project ships in assets/ and longer ones read at run
time from Python's own standard library (so nothing is downloaded)."""

import contextlib
import functools
import inspect
import io
import textwrap
from pathlib import Path
from typing import Callable, NamedTuple

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def _asset(name):
    return lambda: (ASSETS / name).read_text(encoding="utf-8")


def _zen_of_python():
    with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
        import this
    return "".join(this.d.get(char, char) for char in this.s) + "\n"


def _python_docs(size=30_000):
    from pydoc_data.topics import topics

    return "\n\n".join(topics[name] for name in sorted(topics))[:size]


class Preset(NamedTuple):
    label: str  # shown, and written into links
    load: Callable[[], str]
    about: str  # what it teaches
    settings: dict = {}  # the settings it needs that differ from the defaults (playground.state.Settings)


# key -> Preset. Every preset trains with the settings it brings (tests/test_state.py checks).
PRESETS = {
    "rhyme": Preset("The house that Jack built", _asset("rhyme.txt"), "A cumulative rhyme: watch noise become words, then whole verses."),
    "help": Preset(
        "help!",
        _asset("help.txt"),
        'The notebook\'s task: learn "help" -> "elp!".',
        # five characters: one window of four, no room for validation or parallel streams
        dict(cell="rnn", hidden_size=100, seq_len=4, batch_size=1, optimizer="adagrad", lr=0.1, epochs=300, val_fraction=0.0),
    ),
    "alphabet": Preset("Alphabet", _asset("alphabet.txt"), "The alphabet, lower and upper case: a pattern learnt in seconds."),
    "counting": Preset("Counting in words", _asset("counting.txt"), "one, two, ... one hundred: structure with exceptions."),
    "code": Preset("A bit of Python code", _asset("code.txt"), "Indentation, keywords and brackets."),
    "zen": Preset("The Zen of Python", _zen_of_python, "From the standard library's `this` module."),
    "textwrap": Preset("textwrap.py source", lambda: inspect.getsource(textwrap), "The source of a standard module (about 20,000 characters)."),
    "pydocs": Preset("Python documentation", _python_docs, "30,000 characters of English from Python's own help topics."),
}
DEFAULT_PRESET = "rhyme"
CUSTOM = "custom"


def preset_key(label):
    """The key of the preset shown as `label` (as links carry it), or None."""
    return next((key for key, preset in PRESETS.items() if preset.label == label), None)


@functools.cache  # read once per server: pages ask for it on every edit of the text
def preset_text(key):
    """The text of a preset by key; KeyError for an unknown key."""
    return PRESETS[key].load()
