"""Lessons: short guided paths through the app, read from one JSON file per lesson. Plain Python.

A lesson is a few steps. Each step says in two or three sentences what to look at, sets up the
text and settings it needs (in the form a presenter link carries them, read by the same parser),
says what to do, and names a check that the app makes from the runs' own state: the current run,
the kept runs, the texts generated and the steps taken in Step mode. A teacher adds a lesson by
adding a file to assets/lessons/; `load_lessons` refuses a file it cannot use, saying why.

A lesson file:
    {"title": ..., "about": ..., "order": <a number: lessons are listed by it>,
     "steps": [{"title": ..., "explain": ..., "do": ...,
                "page": "train" | "generate" | "compare",      (default "train")
                "preset": <preset label> | "text": <the text>,  (train steps)
                "settings": {<setting>: <link value>},          (train: the rest are the defaults)
                "options": {<Generate option>: <value>},        (generate steps)
                "check": {"kind": <one of CHECKS>, ...}}]}
"""

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from playground import analysis
from playground.presets import ASSETS, PRESETS, preset_key, preset_text
from playground.state import SETTING_NAMES, Settings, link_value, parse_link_value

LESSONS_DIR = ASSETS / "lessons"
PAGES = ("train", "generate", "compare")
GENERATE_OPTIONS = {"prime": str, "length": int, "sample_seed": int, "temperature": float, "top_k": int, "top_p": float, "greedy": bool}
BITS_PER_NAT = 1 / math.log(2)


@dataclass(frozen=True)
class Step:
    title: str
    explain: str
    do: str
    check: dict
    page: str = "train"
    preset: str = None  # a preset's key, or None for `text`
    text: str = None  # the step's training text (a preset's text when `preset` is set)
    settings: dict = field(default_factory=dict)  # {setting: value} the step sets, parsed from the file's link values
    options: dict = field(default_factory=dict)  # Generate's options, for a generate step

    def full_settings(self):
        """Settings: the defaults, then the preset's own, then the step's."""
        preset_settings = PRESETS[self.preset].settings if self.preset else {}
        return replace(Settings(), **{**preset_settings, **self.settings})

    def link_parameters(self):
        """The step's text and settings as a presenter link carries them."""
        params = {"preset": PRESETS[self.preset].label} if self.preset else {"text": self.text} if self.text is not None else {}
        params.update({name: link_value(name, value) for name, value in self.settings.items()})
        return params


@dataclass(frozen=True)
class Lesson:
    key: str  # the file's name without .json; links name the lesson by it
    title: str
    about: str
    steps: tuple
    order: float = 0


@dataclass
class RunFacts:
    """What a check may read of one run (the current one, or a kept one)."""

    settings: Settings
    text: str
    status: str  # ready, training, stopped, paused, done, diverged
    message: str
    epochs: int
    train_bpc: list  # per epoch
    val_bpc: list  # per epoch; empty without validation
    samples: list  # texts, oldest first


@dataclass
class Evidence:
    """Everything the checks read: the runs, what was generated and what Step mode showed."""

    current: RunFacts = None
    kept: list = field(default_factory=list)  # RunFacts
    generations: list = field(default_factory=list)  # {"options": {...}, "text": ...}, oldest first
    stepped: bool = False  # Step mode has shown a step of the current run


@dataclass(frozen=True)
class Outcome:
    done: bool
    note: str  # "done: 0.84 bits after 120 epochs", or what is still missing


def facts_from_run(run):
    """RunFacts of a playground.state.TrainingRun."""
    with run.lock:
        history = list(run.history)
        samples = [text for _, text in run.samples]
    return RunFacts(
        run.settings, run.text, run.status, run.message, run.epoch,
        [stats.train_bpc for stats in history], [stats.val_bpc for stats in history if stats.val_bpc is not None], samples,
    )


def facts_from_record(record):
    """RunFacts of a kept run (playground.runs.RunRecord); None for an imported one, which has no text."""
    if record.text is None:
        return None
    return RunFacts(
        record.settings, record.text, record.summary.get("status", "stopped"), "", int(record.summary.get("epochs", 0)),
        [nats * BITS_PER_NAT for _, nats in record.curve["train"]], [nats * BITS_PER_NAT for _, nats in record.curve["val"]], [],
    )


# checks: each takes (step, its arguments, Evidence) and returns an Outcome

def _matching(step, facts):
    """Why `facts` is not a run of this step ("" when it is)."""
    if facts is None:
        return "Press Set it up, then Train."
    if step.text is not None and facts.text != step.text:
        return "Your current run trains on another text: press Set it up, then Train."
    wanted = step.full_settings()
    different = [name for name in step.settings if getattr(facts.settings, name) != getattr(wanted, name)]
    if different:
        name = different[0]
        return f"Your current run has {name.replace('_', ' ')} {link_value(name, getattr(facts.settings, name))}, this step {link_value(name, getattr(wanted, name))}: press Set it up, then Train."
    return ""


def _of_the_steps_run(check):
    """A check of the current run that applies once it is a run of this step: on the step's text,
    with the settings the step names. Until then, the outcome says what differs."""
    def checked(step, arguments, evidence):
        mismatch = _matching(step, evidence.current)
        return Outcome(False, mismatch) if mismatch else check(step, arguments, evidence.current)
    return checked


def _curve(facts, which):
    return facts.val_bpc if which == "validation" and facts.val_bpc else facts.train_bpc


@_of_the_steps_run
def _loss_below(step, arguments, facts):
    bits, which = arguments["bits"], arguments.get("curve", "train")
    curve = _curve(facts, which)
    if curve and min(curve) < bits:
        first = next(epoch for epoch, value in enumerate(curve, 1) if value < bits)
        return Outcome(True, f"done: {min(curve):.2f} bits per character, below {bits:g} from epoch {first} on ({facts.epochs} epochs)")
    so_far = f"{min(curve):.2f} bits so far" if curve else "no epoch finished yet"
    return Outcome(False, f"Not yet: {so_far}; the target is below {bits:g}.")


@_of_the_steps_run
def _stays_above(step, arguments, facts):
    if facts.status not in ("done", "diverged") or not facts.train_bpc:
        return Outcome(False, "Not yet: let the run train to its last epoch.")
    best = min(facts.train_bpc)
    if best > arguments["bits"]:
        return Outcome(True, f"done: after {facts.epochs} epochs its best was {best:.2f} bits per character, never below {arguments['bits']:g}")
    return Outcome(True, f"done: it reached {best:.2f} bits per character after all, below {arguments['bits']:g}: your run learnt more than most")


@_of_the_steps_run
def _diverged(step, arguments, facts):
    if facts.status == "diverged":
        return Outcome(True, f"done: {facts.message}")
    if facts.status == "done":
        return Outcome(False, "This run finished without diverging: try a larger learning rate.")
    return Outcome(False, "Not yet: press Train and watch the loss.")


@_of_the_steps_run
def _validation_turns_up(step, arguments, facts):
    if not facts.val_bpc:
        return Outcome(False, "Not yet: no validation point so far.")
    lowest = min(facts.val_bpc)
    at = facts.val_bpc.index(lowest) + 1
    if facts.val_bpc[-1] >= lowest + arguments["rise"] and facts.train_bpc[-1] < facts.train_bpc[at - 1]:
        return Outcome(True, f"done: validation was lowest at epoch {at} ({lowest:.2f} bits) and is {facts.val_bpc[-1]:.2f} at epoch {len(facts.val_bpc)}, while training fell to {facts.train_bpc[-1]:.2f}")
    return Outcome(False, f"Not yet: validation is {facts.val_bpc[-1]:.2f} bits, its lowest {lowest:.2f} at epoch {at}.")


@_of_the_steps_run
def _copies_text(step, arguments, facts):
    if not facts.samples:
        return Outcome(False, "Not yet: the first sample comes after a few seconds of training.")
    shares = [1 - analysis.copied(sample, facts.text).new_share for sample in facts.samples]
    if shares[-1] >= arguments["share"]:
        return Outcome(True, f"done: {shares[-1]:.0%} of the latest sample is copied word for word from the text (the first copied {shares[0]:.0%})")
    return Outcome(False, f"Not yet: {shares[-1]:.0%} of the latest sample is copied; watch it pass {arguments['share']:.0%}.")


@_of_the_steps_run
def _beats_baseline(step, arguments, facts):
    name = arguments["baseline"]
    baseline = getattr(analysis.baselines(facts.text, facts.settings.val_fraction), name)
    curve = _curve(facts, "validation")
    if curve and min(curve) < baseline:
        first = next(epoch for epoch, value in enumerate(curve, 1) if value < baseline)
        return Outcome(True, f"done: {min(curve):.2f} bits per character, below the {name} count's {baseline:.2f} from epoch {first} on")
    so_far = f"{min(curve):.2f} bits so far" if curve else "no epoch finished yet"
    return Outcome(False, f"Not yet: {so_far}; the {name} count gets {baseline:.2f}.")


def repeat_length(text, min_repeats=3):
    """The length of the shortest stretch that `text` ends by repeating at least `min_repeats`
    times in a row (a loop), or None."""
    for period in range(1, len(text) // min_repeats + 1):
        tail = text[-period:]
        if text.endswith(tail * min_repeats):
            return period
    return None


def _generated(step, arguments, evidence):
    def fits(options):
        if "greedy" in arguments and bool(options.get("greedy")) != arguments["greedy"]:
            return False
        if "temperature_at_most" in arguments and (options.get("greedy") or options["temperature"] > arguments["temperature_at_most"]):
            return False
        return "temperature_at_least" not in arguments or (not options.get("greedy") and options["temperature"] >= arguments["temperature_at_least"])

    if evidence.current is None:
        return Outcome(False, "Train a model first (the step before this one).")
    made = [generation for generation in evidence.generations if fits(generation["options"])]
    if not made:
        return Outcome(False, "Not yet: press Set it up, then Generate.")
    text = made[-1]["text"]
    copied = 1 - analysis.copied(text, evidence.current.text).new_share
    loop = repeat_length(text)
    looping = f"; it ends in a loop of {loop} characters, over and over" if loop else "; it does not loop"
    return Outcome(True, f"done: {copied:.0%} of it is copied word for word from the text{looping}")


def _stepped(step, arguments, evidence):
    facts = evidence.current  # Step mode steps the current run whatever its cell: any run on the text will do
    if facts is None or (step.text is not None and facts.text != step.text):
        return Outcome(False, "Not yet: train a model on this step's text (the steps before), then take a step in Step mode.")
    if evidence.stepped:
        return Outcome(True, f"done: Step mode shows the gradient through time of your {facts.settings.cell.upper()}, under the step's losses")
    return Outcome(False, "Not yet: turn on Step mode on the Train page and press Take one step.")


def _kept_together(step, arguments, evidence):
    name, values = arguments["setting"], arguments["values"]
    runs = [facts for facts in [evidence.current, *evidence.kept] if facts is not None and facts.epochs > 0 and (step.text is None or facts.text == step.text)]
    found = {getattr(facts.settings, name) for facts in runs}
    wanted = [parse_link_value(name, str(value)) for value in values]
    missing = [value for value in wanted if value not in found]
    if missing:
        return Outcome(False, f"Not yet: no run with {name.replace('_', ' ')} {', '.join(link_value(name, value) for value in missing)} (do the steps before this one).")
    return Outcome(True, f"done: {len(wanted)} runs on one chart, {name.replace('_', ' ')} {', '.join(link_value(name, value) for value in wanted)}: open Compare")


CHECKS = {
    "loss_below": (_loss_below, {"bits"}),
    "stays_above": (_stays_above, {"bits"}),
    "diverged": (_diverged, set()),
    "validation_turns_up": (_validation_turns_up, {"rise"}),
    "copies_text": (_copies_text, {"share"}),
    "beats_baseline": (_beats_baseline, {"baseline"}),
    "generated": (_generated, set()),
    "stepped": (_stepped, set()),
    "kept_together": (_kept_together, {"setting", "values"}),
}


def check_step(step, evidence):
    """The Outcome of the step's check on `evidence`."""
    check, _ = CHECKS[step.check["kind"]]
    return check(step, step.check, evidence)


# reading lesson files

class LessonError(ValueError):
    """A lesson file the app cannot use; the message names the file and the problem."""


def _parse_step(number, raw):
    where = f"step {number}"
    if not isinstance(raw, dict):
        raise LessonError(f"{where} is not an object")
    for key in ("title", "explain", "do"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise LessonError(f"{where} has no {key!r} text")
    unknown = set(raw) - {"title", "explain", "do", "check", "page", "preset", "text", "settings", "options"}
    if unknown:
        raise LessonError(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    page = raw.get("page", "train")
    if page not in PAGES:
        raise LessonError(f"{where}: page must be one of {', '.join(PAGES)}, not {page!r}")
    preset, text = None, raw.get("text")
    if "preset" in raw:
        preset = preset_key(raw["preset"])
        if preset is None:
            raise LessonError(f"{where}: there is no preset called {raw['preset']!r}")
        text = preset_text(preset)
    elif text is not None and (not isinstance(text, str) or len(set(text)) < 2):
        raise LessonError(f"{where}: the text must hold at least two different characters")
    settings = {}
    for name, value in raw.get("settings", {}).items():
        if name not in SETTING_NAMES:
            raise LessonError(f"{where}: unknown setting {name!r}")
        try:
            settings[name] = parse_link_value(name, str(value))
        except (KeyError, ValueError) as error:
            raise LessonError(f"{where}: {name} = {value!r} is not a value the Train page takes") from error
    options = dict(raw.get("options", {}))
    for name, value in options.items():
        kind = GENERATE_OPTIONS.get(name)
        if kind is None or not isinstance(value, (kind, int) if kind is float else kind) or isinstance(value, bool) != (kind is bool):
            raise LessonError(f"{where}: unknown or badly typed Generate option {name!r}")
    check = raw.get("check")
    if not isinstance(check, dict) or check.get("kind") not in CHECKS:
        raise LessonError(f"{where}: the check must be an object whose kind is one of {', '.join(CHECKS)}")
    missing = CHECKS[check["kind"]][1] - set(check)
    if missing:
        raise LessonError(f"{where}: a {check['kind']} check needs {', '.join(sorted(missing))}")
    step = Step(raw["title"], raw["explain"], raw["do"], check, page, preset, text, settings, options)
    try:
        step.full_settings().check()
    except ValueError as error:
        raise LessonError(f"{where}: {error}") from error
    return step


def parse_lesson(key, body):
    """A Lesson from the JSON text of a lesson file; LessonError saying what is wrong."""
    try:
        raw = json.loads(body)
    except json.JSONDecodeError as error:
        raise LessonError(f"{key}.json is not valid JSON ({error})") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("title"), str) or not isinstance(raw.get("steps"), list) or not raw["steps"]:
        raise LessonError(f"{key}.json needs a title and a list of steps")
    try:
        steps = tuple(_parse_step(number, step) for number, step in enumerate(raw["steps"], 1))
    except LessonError as error:
        raise LessonError(f"{key}.json, {error}") from error
    order = raw.get("order", 0)
    if not isinstance(order, (int, float)) or isinstance(order, bool):
        raise LessonError(f"{key}.json: order must be a number")
    return Lesson(key, raw["title"], raw.get("about", ""), steps, order)


LESSON_KEY = re.compile(r"^[a-z0-9_-]{1,40}$")


def load_lessons(folder=LESSONS_DIR):
    """({key: Lesson} in file-name order, [problem messages]) of the lesson files in `folder`."""
    lessons, problems = {}, []
    for path in sorted(Path(folder).glob("*.json")):
        if not LESSON_KEY.match(path.stem):
            problems.append(f"{path.name}: a lesson's file name may hold only small letters, digits, - and _")
            continue
        try:
            lessons[path.stem] = parse_lesson(path.stem, path.read_text(encoding="utf-8"))
        except (LessonError, OSError, UnicodeDecodeError) as error:
            problems.append(str(error))
    return dict(sorted(lessons.items(), key=lambda item: (item[1].order, item[0]))), problems
