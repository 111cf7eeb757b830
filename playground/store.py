"""The run store: every owner's current run and kept runs, in one SQLite file. Plain Python.

One file under the data folder (CHAR_RNN_DATA_DIR, default .data/ beside the app), in WAL mode,
so that several app processes on one host read and write it at once. A row holds a run's JSON
description (settings, curves, samples, status), its model as the engine's own .npz checkpoint
(read back only through `rnn_core.load`'s checks) and, for a current run, its training state
(`rnn_core.trainer_state_to_bytes`). Texts are kept once, by their SHA-256.

A file that is corrupt or written by another version of the store is set aside (renamed, with a
logged warning) and a fresh one is started, so the app always serves.
"""

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

VERSION = 4
FILE_NAME = "runs.sqlite3"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / ".data"
BUSY_SECONDS = 10  # another process writing: wait this long for it
_log = logging.getLogger(__name__)

RUN_TABLES = """
CREATE TABLE runs (
    owner TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('current', 'kept')),
    run_id TEXT NOT NULL,
    -- before the blobs: summing it reads only the start of each row, not megabytes of weights
    size INTEGER NOT NULL,  -- bytes of the row's blobs and JSON, for the disk caps
    position REAL NOT NULL,  -- kept runs show oldest first
    text_hash TEXT,
    description TEXT NOT NULL,  -- JSON
    model BLOB NOT NULL,
    training_state BLOB,
    PRIMARY KEY (owner, kind, run_id)
);
CREATE TABLE texts (text_hash TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE owners (owner TEXT PRIMARY KEY, opened REAL NOT NULL);
"""
# Added in version 4; a store of version 3 gains them and keeps its runs.
LESSON_AND_ROOM_TABLES = """
CREATE TABLE lesson_steps (
    owner TEXT NOT NULL,
    lesson TEXT NOT NULL,
    step INTEGER NOT NULL,
    note TEXT NOT NULL,  -- what the check saw when the step was done ("0.84 bits after 120 epochs")
    PRIMARY KEY (owner, lesson, step)
);
CREATE TABLE rooms (code TEXT PRIMARY KEY, presenter TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE room_members (
    code TEXT NOT NULL,
    owner TEXT NOT NULL,
    nickname TEXT NOT NULL,
    joined REAL NOT NULL,
    PRIMARY KEY (code, owner)
);
"""
SCHEMA = RUN_TABLES + LESSON_AND_ROOM_TABLES
TABLES = {"runs", "texts", "owners", "lesson_steps", "rooms", "room_members"}


class StoreFull(ValueError):
    """Saving would pass a disk cap; the message says which, in the user's words."""


def data_dir(environ=None):
    """The data folder: CHAR_RNN_DATA_DIR, or .data/ beside the app."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("CHAR_RNN_DATA_DIR") or DEFAULT_DATA_DIR)


def text_hash(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class RunStore:
    """Owners' runs in SQLite. Thread-safe: one connection per thread, SQLite locks between processes."""

    def __init__(self, folder, owner_bytes, total_bytes, idle_days):
        self.path = Path(folder) / FILE_NAME
        self.owner_bytes, self.total_bytes, self.idle_days = owner_bytes, total_bytes, idle_days
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._open_or_set_aside()

    # connections

    def _connect(self):
        connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash loses at most the last save, never the file
        return connection

    def _db(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
        return connection

    def _open_or_set_aside(self):
        try:
            self._check_or_create()
        except sqlite3.DatabaseError as error:
            aside = self.path.with_name(f"{FILE_NAME}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
            _log.warning("The run store %s cannot be used (%s); it is set aside as %s and a fresh one is started.", self.path, error, aside.name)
            self._local = threading.local()
            for suffix in ("", "-wal", "-shm"):
                source = Path(str(self.path) + suffix)
                if source.exists():
                    source.rename(Path(str(aside) + suffix))
            self._check_or_create()

    def _check_or_create(self):
        db = self._db()
        with _transaction(db):  # two processes starting at once: the second finds the first's tables
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version == 0 and not tables:
                _create(db, SCHEMA)
                return
            if version == 3 and tables == {"runs", "texts", "owners"}:
                _create(db, LESSON_AND_ROOM_TABLES)
                return
        if version != VERSION or not TABLES <= tables:
            raise sqlite3.DatabaseError(f"it is version {version} with tables {sorted(tables)}; this app writes version {VERSION}")
        db.execute("SELECT count(*) FROM runs").fetchone()  # a damaged file fails here

    def close(self):
        """Close this thread's connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # owners

    def touch(self, owner):
        """Note that the owner opened the app now (runs not opened for idle_days go)."""
        db = self._db()
        db.execute("INSERT INTO owners (owner, opened) VALUES (?, ?) ON CONFLICT (owner) DO UPDATE SET opened = excluded.opened", (owner, time.time()))

    def forget(self, owner):
        """Delete everything of this owner at once."""
        db = self._db()
        with _transaction(db):
            db.execute("DELETE FROM runs WHERE owner = ?", (owner,))
            db.execute("DELETE FROM lesson_steps WHERE owner = ?", (owner,))
            # the rooms the owner presents (with their members), and the owner's place in any room
            db.execute("DELETE FROM room_members WHERE owner = ? OR code IN (SELECT code FROM rooms WHERE presenter = ?)", (owner, owner))
            db.execute("DELETE FROM rooms WHERE presenter = ?", (owner,))
            db.execute("DELETE FROM owners WHERE owner = ?", (owner,))
            _drop_unused_texts(db)

    def expire(self, now=None):
        """Delete the runs of owners who have not opened the app for idle_days. Returns how many owners went."""
        cutoff = (time.time() if now is None else now) - self.idle_days * 86400
        db = self._db()
        with _transaction(db):
            gone = [row[0] for row in db.execute("SELECT owner FROM owners WHERE opened < ?", (cutoff,))]
            db.executemany("DELETE FROM runs WHERE owner = ?", [(owner,) for owner in gone])
            db.executemany("DELETE FROM lesson_steps WHERE owner = ?", [(owner,) for owner in gone])
            db.executemany("DELETE FROM room_members WHERE owner = ? OR code IN (SELECT code FROM rooms WHERE presenter = ?)", [(owner, owner) for owner in gone])
            db.executemany("DELETE FROM rooms WHERE presenter = ?", [(owner,) for owner in gone])
            db.executemany("DELETE FROM owners WHERE owner = ?", [(owner,) for owner in gone])
            _drop_unused_texts(db)
        return len(gone)

    # runs

    def save(self, owner, kind, run_id, description, model, training_state=None, text=None, position=None):
        """Write (or replace) one run. `description` is JSON-friendly; `model` and `training_state` bytes.

        Raises StoreFull, naming the cap, when the owner or the whole store would pass its disk cap.
        """
        body = json.dumps(description)
        size = len(body) + len(model) + len(training_state or b"") + len(text or "")
        hashed = None if text is None else text_hash(text)
        db = self._db()
        with _transaction(db):
            previous = db.execute("SELECT size, position FROM runs WHERE owner = ? AND kind = ? AND run_id = ?", (owner, kind, run_id)).fetchone()
            growth = size - (previous[0] if previous else 0)
            owner_total = db.execute("SELECT coalesce(sum(size), 0) FROM runs WHERE owner = ?", (owner,)).fetchone()[0]
            if growth > 0 and owner_total + growth > self.owner_bytes:
                raise StoreFull(
                    f"Your saved runs would take {(owner_total + growth) / 2**20:.1f} MB; this server keeps up to {self.owner_bytes / 2**20:g} MB "
                    "for each person. Delete some runs on the Compare page (or set CHAR_RNN_MAX_OWNER_MB)."
                )
            total = db.execute("SELECT coalesce(sum(size), 0) FROM runs").fetchone()[0]
            if growth > 0 and total + growth > self.total_bytes:
                raise StoreFull(f"This server's run store is full ({self.total_bytes / 2**20:g} MB): your run could not be saved (set CHAR_RNN_MAX_STORE_MB).")
            if text is not None:
                db.execute("INSERT OR IGNORE INTO texts (text_hash, body) VALUES (?, ?)", (hashed, text))
            position = position if position is not None else previous[1] if previous else time.time()
            db.execute(
                "INSERT OR REPLACE INTO runs (owner, kind, run_id, position, description, text_hash, model, training_state, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (owner, kind, run_id, position, body, hashed, model, training_state, size),
            )
            db.execute("INSERT INTO owners (owner, opened) VALUES (?, ?) ON CONFLICT (owner) DO NOTHING", (owner, time.time()))

    def runs(self, owner, kind):
        """[{"run_id", "description", "model", "training_state", "text"}] of the owner's runs of `kind`, oldest first."""
        rows = self._db().execute(
            "SELECT run_id, description, model, training_state, body FROM runs LEFT JOIN texts USING (text_hash) WHERE owner = ? AND kind = ? ORDER BY position, run_id",
            (owner, kind),
        )
        return [{"run_id": run_id, "description": json.loads(description), "model": model, "training_state": state, "text": body} for run_id, description, model, state, body in rows]

    def delete(self, owner, kind, run_id):
        db = self._db()
        with _transaction(db):
            db.execute("DELETE FROM runs WHERE owner = ? AND kind = ? AND run_id = ?", (owner, kind, run_id))
            _drop_unused_texts(db)

    def usage(self, owner=None):
        """Bytes kept for one owner, or for everyone."""
        if owner is None:
            return self._db().execute("SELECT coalesce(sum(size), 0) FROM runs").fetchone()[0]
        return self._db().execute("SELECT coalesce(sum(size), 0) FROM runs WHERE owner = ?", (owner,)).fetchone()[0]

    # lessons

    def finish_step(self, owner, lesson, step, note):
        """Record that the owner did `step` (0-based) of `lesson`, with what its check saw."""
        self._db().execute("INSERT OR REPLACE INTO lesson_steps (owner, lesson, step, note) VALUES (?, ?, ?, ?)", (owner, lesson, step, note))

    def lesson_steps(self, owner):
        """{lesson: {step: note}} of the steps the owner has done."""
        done = {}
        for lesson, step, note in self._db().execute("SELECT lesson, step, note FROM lesson_steps WHERE owner = ?", (owner,)):
            done.setdefault(lesson, {})[step] = note
        return done

    def restart_lesson(self, owner, lesson):
        """Forget which steps of `lesson` the owner has done."""
        self._db().execute("DELETE FROM lesson_steps WHERE owner = ? AND lesson = ?", (owner, lesson))

    # rooms

    def create_room(self, code, presenter, created, ended_before):
        """Start room `code` for `presenter`; False if another room has the code.

        Rooms created at or before `ended_before` have ended: they and their members go first.
        """
        db = self._db()
        with _transaction(db):
            db.execute("DELETE FROM room_members WHERE code IN (SELECT code FROM rooms WHERE created <= ?)", (ended_before,))
            db.execute("DELETE FROM rooms WHERE created <= ?", (ended_before,))
            try:
                db.execute("INSERT INTO rooms (code, presenter, created) VALUES (?, ?, ?)", (code, presenter, created))
            except sqlite3.IntegrityError:
                return False
        return True

    def room(self, code):
        """(presenter, created) of room `code`, or None."""
        return self._db().execute("SELECT presenter, created FROM rooms WHERE code = ?", (code,)).fetchone()

    def presented_rooms(self, presenter):
        """[(code, created)] of the rooms `presenter` started, newest first."""
        return self._db().execute("SELECT code, created FROM rooms WHERE presenter = ? ORDER BY created DESC", (presenter,)).fetchall()

    def close_room(self, code):
        """Delete room `code` and its members."""
        db = self._db()
        with _transaction(db):
            db.execute("DELETE FROM room_members WHERE code = ?", (code,))
            db.execute("DELETE FROM rooms WHERE code = ?", (code,))

    def join_room(self, code, owner, nickname, joined, size):
        """Put `owner` in room `code` as `nickname`, or rename them there; they leave any other room.

        Checked in one transaction, so that app processes joining people at once keep the cap:
        returns "joined", "renamed", "gone" (no such room), "full" (`size` members already) or
        "taken" (another member has the nickname, whatever its case).
        """
        db = self._db()
        with _transaction(db):
            if db.execute("SELECT 1 FROM rooms WHERE code = ?", (code,)).fetchone() is None:
                return "gone"
            members = dict(db.execute("SELECT owner, nickname FROM room_members WHERE code = ?", (code,)))
            if any(name.casefold() == nickname.casefold() for other, name in members.items() if other != owner):
                return "taken"
            if owner not in members and len(members) >= size:
                return "full"
            db.execute("DELETE FROM room_members WHERE owner = ? AND code != ?", (owner, code))
            db.execute(
                "INSERT INTO room_members (code, owner, nickname, joined) VALUES (?, ?, ?, ?) ON CONFLICT (code, owner) DO UPDATE SET nickname = excluded.nickname",
                (code, owner, nickname, joined),
            )
        return "renamed" if owner in members else "joined"

    def leave_rooms(self, owner):
        """Take `owner` out of every room."""
        self._db().execute("DELETE FROM room_members WHERE owner = ?", (owner,))

    def membership(self, owner):
        """(code, nickname) of the room `owner` joined last, or None."""
        return self._db().execute("SELECT code, nickname FROM room_members WHERE owner = ? ORDER BY joined DESC LIMIT 1", (owner,)).fetchone()

    def room_nicknames(self, code):
        """The nicknames of room `code`'s members."""
        return [row[0] for row in self._db().execute("SELECT nickname FROM room_members WHERE code = ?", (code,))]

    def room_board(self, code):
        """[(nickname, status, figures JSON, latest sample JSON)] of room `code`'s members, first joined first.

        Read from each member's current run's description alone (never its model, training state
        or text), and only those fields of it; no owner id leaves. None where a member has no run.
        """
        return self._db().execute(
            """SELECT m.nickname, json_extract(r.description, '$.status'), json_extract(r.description, '$.figures'), json_extract(r.description, '$.samples[#-1]')
            FROM room_members m LEFT JOIN runs r ON r.owner = m.owner AND r.kind = 'current' AND json_valid(r.description)
                AND r.run_id = (SELECT run_id FROM runs WHERE owner = m.owner AND kind = 'current' ORDER BY position DESC LIMIT 1)
            WHERE m.code = ? ORDER BY m.joined, m.nickname""",
            (code,),
        ).fetchall()


def _create(db, tables):
    for statement in tables.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {VERSION}")


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): a writer takes the lock before it reads."""

    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, error, trace):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        return False


def _drop_unused_texts(db):
    db.execute("DELETE FROM texts WHERE text_hash NOT IN (SELECT text_hash FROM runs WHERE text_hash IS NOT NULL)")
