"""Workshop rooms: a presenter starts one, attendees join it with a nickname, a board shows how their runs do. Plain Python.

Everything here reads and writes the run store alone, never a training service's memory: every
app process behind a balancer shares the store, so each one shows the same board. What leaves an
attendee's runs for the board is the nickname and a few figures (best bits per character, epochs,
status) of their current run, and the latest sample of the best run; their texts, models and
owner ids never do.
"""

import json
import math
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass

from playground.limits import Caps
from playground.plain_text import char_name

# Codes are read off a projector and typed: no 0/O or 1/I to mix up.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 6
_CODE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")
NICKNAME_LENGTH = 24
NICKNAME_MARKS = ".,'-_!?()&"  # besides letters, digits and spaces
DEFAULT_NICKNAME = "Attendee {}"
# What the board says for a run's status (playground.state.TrainingRun.status)
STATUS_WORDS = {"ready": "not started", "training": "training", "stopped": "stopped", "paused": "paused", "done": "done", "diverged": "diverged"}
NO_RUN = "no run yet"
VALIDATION, TRAINING_TEXT = "validation", "training text"


class RoomError(ValueError):
    """A room code, a nickname or a room's state refused; the message says why, in the user's words."""


@dataclass(frozen=True)
class Room:
    code: str
    presenter: str
    created: float
    ends: float


@dataclass(frozen=True)
class Row:
    """One attendee on the board."""

    nickname: str
    bpc: float | None  # best bits per character so far; None before the first epoch
    measured_on: str | None  # VALIDATION, or TRAINING_TEXT for a run without validation
    epochs: int
    status: str  # in words (STATUS_WORDS, NO_RUN)
    diverged: bool


@dataclass(frozen=True)
class Sample:
    nickname: str
    epoch: int
    text: str


@dataclass(frozen=True)
class Board:
    code: str
    ends: float
    in_room: int
    trained: int  # attendees whose run has finished at least one epoch
    rows: list  # [Row], best first
    sample: Sample | None  # the best run's latest sample


def new_code():
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def check_code(raw):
    """The room code in `raw` (case and surrounding spaces do not matter); RoomError if it is not one."""
    code = str(raw).strip().upper()
    if _CODE.fullmatch(code) is None:
        shown = code[:20] + ("…" if len(code) > 20 else "")
        raise RoomError(f"“{shown}” is not a room code: a code is {CODE_LENGTH} letters and digits, such as K7M2QX.")
    return code


def check_nickname(raw):
    """`raw` as a nickname (spaces tidied), or "" for none; RoomError naming what is wrong with it."""
    nickname = " ".join(unicodedata.normalize("NFC", str(raw or "")).split())
    if len(nickname) > NICKNAME_LENGTH:
        raise RoomError(f"A nickname has at most {NICKNAME_LENGTH} characters; this one has {len(nickname)}.")
    previous = " "
    for char in nickname:
        # an accent or vowel sign on a letter is part of a name; marks piled on marks are not
        mark_on_letter = unicodedata.category(char).startswith("M") and previous.isalpha()
        if not (char.isalnum() or char == " " or char in NICKNAME_MARKS or mark_on_letter):
            raise RoomError(f"A nickname cannot hold “{char_name(char)}”. Use letters, digits, spaces and these marks: {' '.join(NICKNAME_MARKS)}")
        previous = char
    return nickname


def _hours(caps):
    return f"{caps.room_hours:g} hour{'' if caps.room_hours == 1 else 's'}"


def start(store, presenter, caps=None, now=None):
    """Start a room for `presenter` (an owner id); returns its code. Ended rooms are cleared away meanwhile."""
    caps = caps or Caps.from_environment()
    now = time.time() if now is None else now
    while True:  # a code taken already (one in a billion) draws again
        code = new_code()
        if store.create_room(code, presenter, now, ended_before=now - caps.room_hours * 3600):
            return code


def presented_room(store, presenter, caps=None, now=None):
    """The newest room `presenter` started that has not ended, or None."""
    caps = caps or Caps.from_environment()
    now = time.time() if now is None else now
    for code, created in store.presented_rooms(presenter):
        if now < created + caps.room_hours * 3600:
            return Room(code, presenter, created, created + caps.room_hours * 3600)
    return None


def close(store, code):
    """End a room at once: its board and its members go."""
    store.close_room(code)


def open_room(store, code, caps=None, now=None):
    """The room with code `code` (checked); RoomError if there is none or it has ended."""
    caps = caps or Caps.from_environment()
    now = time.time() if now is None else now
    code = check_code(code)
    found = store.room(code)
    if found is None:
        raise RoomError(f"There is no room {code} on this server. Check the code, or ask the presenter for the link again (a room lasts {_hours(caps)}).")
    presenter, created = found
    ends = created + caps.room_hours * 3600
    if now >= ends:
        raise RoomError(f"Room {code} has ended: a room lasts {_hours(caps)}. Ask the presenter for a new one.")
    return Room(code, presenter, created, ends)


def join(store, code, owner, nickname="", caps=None, now=None):
    """Put `owner` in room `code` as `nickname` (checked; none: "Attendee 3" and so on), leaving any other room.

    Joining again renames. Returns the nickname taken; RoomError if the room cannot be joined or
    the nickname is refused.
    """
    caps = caps or Caps.from_environment()
    now = time.time() if now is None else now
    room = open_room(store, code, caps, now)
    chosen = check_nickname(nickname)
    for _ in range(5):  # a default name taken meanwhile by someone joining in another process: the next one
        name = chosen or _default_nickname(store.room_nicknames(room.code))
        outcome = store.join_room(room.code, owner, name, now, caps.room_size)
        if outcome in ("joined", "renamed"):
            return name
        if outcome == "gone":
            raise RoomError(f"Room {room.code} has just been closed by its presenter.")
        if outcome == "full":
            raise RoomError(
                f"Room {room.code} is full: it takes {caps.room_size:,} people on this server. Ask the presenter "
                "(running the app yourself, set CHAR_RNN_MAX_ROOM_SIZE)."
            )
        if chosen:
            raise RoomError(f"Someone in room {room.code} is already called {chosen}: pick another nickname.")
    raise RoomError(f"Room {room.code} is busy with people joining: press Join again.")


def _default_nickname(taken):
    taken = {name.casefold() for name in taken}
    number = len(taken) + 1
    while DEFAULT_NICKNAME.format(number).casefold() in taken:
        number += 1
    return DEFAULT_NICKNAME.format(number)


def rename(store, owner, nickname, caps=None, now=None):
    """Give `owner` a new nickname in the room they are in; returns it. RoomError if they are in none."""
    member = membership(store, owner, caps, now)
    if member is None:
        raise RoomError("You are not in a room: open the presenter's link to join one.")
    return join(store, member[0], owner, nickname, caps, now)


def leave(store, owner):
    """Take `owner` out of their room: their runs leave its board."""
    store.leave_rooms(owner)


def membership(store, owner, caps=None, now=None):
    """(code, nickname) of the room `owner` is in, or None (a room that has ended counts as none)."""
    member = store.membership(owner)
    if member is None:
        return None
    try:
        open_room(store, member[0], caps, now)
    except RoomError:
        return None
    return member


def board(store, code, caps=None, now=None):
    """What the big screen shows of room `code` (Board); RoomError if there is no such room or it has ended.

    Rows are best first: by best validation bits per character, then the runs measured only on
    their own training text (a figure that flatters, so it does not outrank held-out text), then
    those without an epoch yet.
    """
    room = open_room(store, code, caps, now)
    rows, samples = [], {}
    for nickname, status, figures, sample in store.room_board(room.code):
        row = _row(nickname, status, figures)
        rows.append(row)
        samples[nickname] = _sample(nickname, sample)
    rows.sort(key=lambda row: (row.bpc is None, row.measured_on != VALIDATION, row.bpc or 0.0, row.nickname.casefold()))
    trained = [row for row in rows if row.epochs > 0]
    best = trained[0] if trained else None
    return Board(room.code, room.ends, len(rows), len(trained), rows, None if best is None else samples[best.nickname])


def _row(nickname, status, figures):
    """A board row from a run's status and its figures JSON (TrainingRun.description), whatever they hold."""
    try:
        figures = json.loads(figures) if figures else {}
    except ValueError:
        figures = {}
    if not isinstance(figures, dict):
        figures = {}
    epochs = figures.get("epochs")
    epochs = epochs if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs > 0 else 0
    val, train = _number(figures.get("best_val_bpc")), _number(figures.get("best_train_bpc"))
    bpc, measured_on = (val, VALIDATION) if val is not None else (train, TRAINING_TEXT) if train is not None else (None, None)
    if not epochs:
        bpc, measured_on = None, None
    words = NO_RUN if status is None else STATUS_WORDS.get(status, "unknown")
    return Row(nickname, bpc, measured_on, epochs, words, status == "diverged")


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def _sample(nickname, sample):
    """A Sample from the JSON of a run's latest [epoch, text], or None."""
    try:
        epoch, text = json.loads(sample) if sample else (None, None)
    except (TypeError, ValueError):
        return None
    if not isinstance(epoch, int) or not isinstance(text, str):
        return None
    return Sample(nickname, epoch, text)
