"""Workshop rooms: codes, nicknames, the cap, expiry, the board and what leaves an attendee's runs; the pages under AppTest."""

import dataclasses
import re

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from playground import rooms
from playground.limits import Caps
from playground.service import get_service
from playground.state import Settings, TrainingRun
from playground.store import RunStore

ENTRY = str(ROOT / "streamlit_app.py")
CAPS = Caps()
PRESENTER, ADA, GRACE, LINUS = (f"{digit}" * 32 for digit in "0123")  # owner ids as the cookie gives them
SECRET_TEXT = "SECRET TRAINING TEXT, never on the board"
MODEL_BYTES = b"MODEL-BYTES-NEVER-ON-THE-BOARD"


@pytest.fixture
def store(tmp_path):
    store = RunStore(tmp_path, 2**30, 2**30, 7)
    yield store
    store.close()


def save_run(store, owner, status="done", epochs=10, val=None, train=1.5, sample="hello", message=""):
    """An owner's current run as the service saves it: a description beside model bytes and the text."""
    description = {
        "settings": Settings().as_dict(),
        "preset": None,
        "target_epochs": epochs,
        "train_seconds": 1.0,
        "samples": [[1, "an older sample"], [epochs, sample]],
        "status": status,
        "message": message,
        "figures": {"epochs": epochs, "best_train_bpc": train, "best_val_bpc": val},
    }
    store.save(owner, "current", f"run-of-{owner}", description, MODEL_BYTES, b"TRAINING-STATE", text=SECRET_TEXT)


# codes and nicknames


def test_codes_use_an_alphabet_without_look_alikes_and_any_case_is_read():
    codes = {rooms.new_code() for _ in range(200)}
    assert all(len(code) == 6 and not set(code) & set("0O1I") for code in codes) and len(codes) == 200
    assert rooms.check_code("  k7m2qx ") == "K7M2QX"
    for bad in ("", "K7M2Q", "K7M2QXX", "K0M2QX", "<b>x</b>"):
        with pytest.raises(rooms.RoomError, match="is not a room code"):
            rooms.check_code(bad)


@pytest.mark.parametrize("raw,kept", [("Ada", "Ada"), ("  José   da Silva ", "José da Silva"), ("O'Brien-Smith (2)", "O'Brien-Smith (2)"), ("", ""), (None, ""), ("नमस्ते", "नमस्ते")])
def test_nicknames_keep_letters_digits_spaces_and_a_few_marks(raw, kept):
    assert rooms.check_nickname(raw) == kept


@pytest.mark.parametrize(
    "raw,match",
    [
        ("<script>alert()", "cannot hold “<”"),
        ("x" * 25, "at most 24 characters; this one has 25"),
        ("Ada\u202eevil", "cannot hold “U\\+202E”"),  # a right-to-left override
        ("**bold**", "cannot hold “\\*”"),
        ("a\u0301\u0301\u0301", "cannot hold"),  # accents piled on accents
    ],
)
def test_nicknames_with_other_characters_or_too_long_are_refused_in_words(raw, match):
    with pytest.raises(rooms.RoomError, match=match):
        rooms.check_nickname(raw)


def test_room_caps_come_from_the_environment():
    caps = Caps.from_environment({"CHAR_RNN_MAX_ROOM_HOURS": "2.5", "CHAR_RNN_MAX_ROOM_SIZE": "30"})
    assert (caps.room_hours, caps.room_size) == (2.5, 30)
    assert (Caps().room_hours, Caps().room_size) == (24.0, 100)
    assert Caps.from_environment({"CHAR_RNN_MAX_ROOM_SIZE": "many"}).room_size == 100


# joining, leaving, the cap, expiry


def test_join_gives_default_nicknames_refuses_a_taken_one_renames_and_leaves(store):
    code = rooms.start(store, PRESENTER, CAPS)
    assert rooms.join(store, code, ADA, "", CAPS) == "Attendee 1"
    assert rooms.join(store, code.lower(), GRACE, "Grace", CAPS) == "Grace"
    assert rooms.join(store, code, LINUS, None, CAPS) == "Attendee 3"
    with pytest.raises(rooms.RoomError, match="already called grace"):
        rooms.join(store, code, LINUS, "grace", CAPS)
    assert rooms.rename(store, ADA, "Ada", CAPS) == "Ada"
    assert rooms.membership(store, ADA, CAPS) == (code, "Ada")
    assert sorted(store.room_nicknames(code)) == ["Ada", "Attendee 3", "Grace"]
    rooms.leave(store, ADA)
    assert rooms.membership(store, ADA, CAPS) is None and sorted(store.room_nicknames(code)) == ["Attendee 3", "Grace"]
    with pytest.raises(rooms.RoomError, match="not in a room"):
        rooms.rename(store, ADA, "Ada", CAPS)


def test_joining_another_room_leaves_the_first(store):
    first, second = rooms.start(store, PRESENTER, CAPS), rooms.start(store, PRESENTER, CAPS)
    rooms.join(store, first, ADA, "Ada", CAPS)
    rooms.join(store, second, ADA, "Ada", CAPS)
    assert store.room_nicknames(first) == [] and rooms.membership(store, ADA, CAPS) == (second, "Ada")


def test_a_full_room_refuses_newcomers_but_its_members_may_rename(store):
    caps = Caps(room_size=2)
    code = rooms.start(store, PRESENTER, caps)
    rooms.join(store, code, ADA, "Ada", caps)
    rooms.join(store, code, GRACE, "Grace", caps)
    with pytest.raises(rooms.RoomError, match="is full: it takes 2 people.*CHAR_RNN_MAX_ROOM_SIZE"):
        rooms.join(store, code, LINUS, "Linus", caps)
    assert rooms.rename(store, GRACE, "Grace H", caps) == "Grace H"
    assert sorted(store.room_nicknames(code)) == ["Ada", "Grace H"]


def test_unknown_and_ended_rooms_are_named_in_words(store):
    with pytest.raises(rooms.RoomError, match="There is no room K7M2QX on this server"):
        rooms.join(store, "K7M2QX", ADA, "Ada", CAPS)
    caps = Caps(room_hours=2)
    code = rooms.start(store, PRESENTER, caps, now=1000.0)
    rooms.join(store, code, ADA, "Ada", caps, now=1000.0)
    later = 1000.0 + 2 * 3600
    for ended in (lambda: rooms.board(store, code, caps, now=later), lambda: rooms.join(store, code, GRACE, "Grace", caps, now=later)):
        with pytest.raises(rooms.RoomError, match=f"Room {code} has ended: a room lasts 2 hours"):
            ended()
    assert rooms.membership(store, ADA, caps, now=later) is None
    assert rooms.presented_room(store, PRESENTER, caps, now=later) is None
    rooms.start(store, PRESENTER, caps, now=later)  # starting a room clears the ended ones away
    assert store.room(code) is None and store.membership(ADA) is None


def test_forgetting_an_owner_takes_their_rooms_and_memberships(store):
    code = rooms.start(store, PRESENTER, CAPS)
    other = rooms.start(store, GRACE, CAPS)
    rooms.join(store, code, ADA, "Ada", CAPS)
    rooms.join(store, other, LINUS, "Linus", CAPS)
    store.forget(PRESENTER)
    assert store.room(code) is None and store.membership(ADA) is None
    store.forget(LINUS)
    assert store.room(other) is not None and store.room_nicknames(other) == []


def test_owners_who_expire_leave_their_rooms(store):
    code = rooms.start(store, PRESENTER, CAPS)
    store.touch(PRESENTER)
    rooms.join(store, code, ADA, "Ada", CAPS)
    store.touch(ADA)
    store._db().execute("UPDATE owners SET opened = opened - 8 * 86400 WHERE owner = ?", (ADA,))  # not opened for 8 days
    assert store.expire() == 1
    assert store.membership(ADA) is None and store.room(code) is not None


# the board


def test_the_board_sorts_best_first_marks_diverged_runs_and_shows_the_best_runs_sample(store):
    code = rooms.start(store, PRESENTER, CAPS)
    for owner, nickname in ((ADA, "Ada"), (GRACE, "Grace"), (LINUS, "Linus"), ("4" * 32, "Margaret"), ("5" * 32, "Tim")):
        rooms.join(store, code, owner, nickname, CAPS)
    save_run(store, ADA, val=1.9, train=1.2, epochs=40, sample="Ada's sample")
    save_run(store, GRACE, val=1.4, train=1.3, epochs=80, sample="Grace's sample")
    save_run(store, LINUS, status="diverged", val=2.5, train=2.4, epochs=5, sample="Linus's sample", message="The loss became NaN.")
    save_run(store, "4" * 32, status="training", val=None, train=0.9, epochs=12, sample="Margaret's sample")  # no validation
    board = rooms.board(store, code, CAPS)
    assert [row.nickname for row in board.rows] == ["Grace", "Ada", "Linus", "Margaret", "Tim"]
    assert [(row.bpc, row.measured_on, row.epochs, row.status, row.diverged) for row in board.rows] == [
        (1.4, "validation", 80, "done", False),
        (1.9, "validation", 40, "done", False),
        (2.5, "validation", 5, "diverged", True),
        (0.9, "training text", 12, "training", False),  # a training-text figure does not outrank held-out text
        (None, None, 0, "no run yet", False),
    ]
    assert (board.in_room, board.trained) == (5, 4)
    assert board.sample == rooms.Sample("Grace", 80, "Grace's sample")


def test_a_run_without_validation_ranks_by_its_training_text_figure(store):
    code = rooms.start(store, PRESENTER, CAPS)
    for owner, nickname, train in ((ADA, "Ada", 0.8), (GRACE, "Grace", 0.3)):
        rooms.join(store, code, owner, nickname, CAPS)
        save_run(store, owner, train=train, sample=f"{nickname}'s sample")
    board = rooms.board(store, code, CAPS)
    assert [(row.nickname, row.bpc, row.measured_on) for row in board.rows] == [("Grace", 0.3, "training text"), ("Ada", 0.8, "training text")]
    assert board.sample.text == "Grace's sample"


def test_the_board_reads_a_real_runs_figures_from_its_saved_description(store):
    code = rooms.start(store, PRESENTER, CAPS)
    rooms.join(store, code, ADA, "Ada", CAPS)
    run = TrainingRun("help!", Settings(cell="rnn", hidden_size=16, seq_len=4, batch_size=1, optimizer="adagrad", lr=0.1, epochs=30, val_fraction=0.0))
    run.trainer.train(30)
    run.samples.append((30, "help!"))
    description, text = run.description()
    store.save(ADA, "current", run.run_id, description, *run.checkpoint_bytes(), text=text)
    (row,) = rooms.board(store, code, CAPS).rows
    assert row.epochs == 30 and row.measured_on == "training text"
    assert row.bpc == pytest.approx(min(stats.train_bpc for stats in run.history))


def test_only_figures_and_nicknames_leave_an_attendees_runs(store):
    code = rooms.start(store, PRESENTER, CAPS)
    for owner, nickname, val in ((ADA, "Ada", 1.2), (GRACE, "Grace", 1.5)):
        rooms.join(store, code, owner, nickname, CAPS)
        save_run(store, owner, val=val, sample=f"{nickname}'s sample")
    statements = []
    store._db().set_trace_callback(statements.append)
    board = rooms.board(store, code, CAPS)
    store._db().set_trace_callback(None)
    shown = repr(dataclasses.asdict(board))
    for secret in (PRESENTER, ADA, GRACE, SECRET_TEXT, MODEL_BYTES.decode(), "TRAINING-STATE", "an older sample", "settings", "message"):
        assert secret not in shown, secret
    assert "Ada's sample" in shown and "Grace's sample" not in shown  # only the best run's latest sample
    read = repr(store.room_board(code))  # what the store hands over: no owner id, text or bytes either
    assert not any(secret in read for secret in (ADA, GRACE, SECRET_TEXT, MODEL_BYTES.decode(), "TRAINING-STATE"))
    # the board's queries read descriptions: never a model, a training state or a text
    assert statements and not any(re.search(r"\b(model|training_state|texts|body)\b", statement) for statement in statements)


def test_two_stores_on_one_file_see_the_same_board(tmp_path):
    first, second = RunStore(tmp_path, 2**30, 2**30, 7), RunStore(tmp_path, 2**30, 2**30, 7)  # two app processes
    code = rooms.start(first, PRESENTER, CAPS)
    rooms.join(second, code, ADA, "Ada", CAPS)
    rooms.join(first, code, GRACE, "Grace", CAPS)
    save_run(first, ADA, val=1.1)
    save_run(second, GRACE, val=1.6)
    assert rooms.board(first, code, CAPS) == rooms.board(second, code, CAPS)
    assert [row.nickname for row in rooms.board(second, code, CAPS).rows] == ["Ada", "Grace"]
    with pytest.raises(rooms.RoomError, match="already called ADA"):
        rooms.join(first, code, LINUS, "ADA", CAPS)  # the nickname check sees the other process's member
    first.close()
    second.close()


def test_the_cap_holds_for_members_joining_through_different_stores(tmp_path):
    caps = Caps(room_size=3)
    stores = [RunStore(tmp_path, 2**30, 2**30, 7) for _ in range(2)]
    code = rooms.start(stores[0], PRESENTER, caps)
    joined = 0
    for number in range(6):
        try:
            rooms.join(stores[number % 2], code, f"{number + 4:x}" * 32, "", caps)
            joined += 1
        except rooms.RoomError as error:
            assert "is full" in str(error)
    assert joined == 3 and len(stores[1].room_nicknames(code)) == 3
    for store in stores:
        store.close()


def test_a_damaged_description_leaves_the_row_blank_not_the_board_broken(store):
    code = rooms.start(store, PRESENTER, CAPS)
    rooms.join(store, code, ADA, "Ada", CAPS)
    rooms.join(store, code, GRACE, "Grace", CAPS)
    save_run(store, ADA, val=1.0)
    save_run(store, GRACE, val=1.0)
    store._db().execute("UPDATE runs SET description = ? WHERE owner = ?", ('{"status": "done", "figures": {"epochs": "many", "best_val_bpc": NaN', GRACE))
    assert [(row.nickname, row.bpc, row.status) for row in rooms.board(store, code, CAPS).rows] == [("Ada", 1.0, "done"), ("Grace", None, "no run yet")]


# the pages


def app(query=None, page=None):
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception
    return at


def sidebar_texts(at):
    return [element.value for element in (*at.sidebar.markdown, *at.sidebar.text, *at.sidebar.caption)]


def test_a_presenter_starts_a_room_and_the_link_takes_attendees_in():
    presenter = app()
    presenter.button(key="start_room_button").click().run()
    link = next(code.value for code in presenter.code if "room=" in code.value)
    code = re.search(r"room=([A-Z0-9]+)", link).group(1)
    assert rooms.presented_room(get_service().store, presenter.session_state["owner_of_this_session"]).code == code
    assert any(f"Room {code}" in text for text in (markdown.value for markdown in presenter.markdown))

    attendee = app({"room": code})
    assert not attendee.warning  # the link's room is not reported as an ignored setting
    assert f"**Join room {code}**" in sidebar_texts(attendee)
    attendee.text_input(key="room_nickname").input("Ada")
    attendee.button(key="join_room_button").click().run()
    assert f"You are in room {code} as Ada" in sidebar_texts(attendee)
    attendee.switch_page("pages/generate.py").run()  # the next page's address has no room: the box stays
    assert f"You are in room {code} as Ada" in sidebar_texts(attendee)
    attendee.button(key="leave_room_button").click().run()
    assert f"**Join room {code}**" in sidebar_texts(attendee) and get_service().store.room_nicknames(code) == []

    presenter.button(key="close_room_button").click().run()
    assert not presenter.exception and presenter.button(key="start_room_button")
    assert get_service().store.room(code) is None


def test_a_refused_nickname_is_named_and_nothing_joins():
    code = rooms.start(get_service().store, PRESENTER)
    attendee = app({"room": code})
    for nickname, words in (("<script>alert()", "cannot hold"), ("<script>alert(1)</script>" * 3, "at most 24 characters")):
        attendee.text_input(key="room_nickname").input(nickname)
        attendee.button(key="join_room_button").click().run()
        assert not attendee.exception and any(words in error.value for error in attendee.sidebar.error)
    assert get_service().store.room_nicknames(code) == []
    attendee.text_input(key="room_nickname").input("")
    attendee.button(key="join_room_button").click().run()
    assert f"You are in room {code} as Attendee 1" in sidebar_texts(attendee) and not attendee.sidebar.error


@pytest.mark.parametrize("raw,words", [("K7M2QX", "There is no room K7M2QX"), ("<img src=x onerror=alert(1)>", "is not a room code")])
def test_a_link_to_an_unknown_or_malformed_room_says_so_on_every_page(raw, words):
    for page in (None, "pages/room.py"):
        at = app({"room": raw}, page)
        assert any(words in element.value for element in (*at.warning, *at.error))
        assert "<img" not in repr([element.proto for element in at.get("html")])  # never written as HTML


def test_the_board_page_shows_counts_rows_and_the_best_sample_as_plain_text():
    store = get_service().store
    code = rooms.start(store, PRESENTER)
    for owner, nickname, val in ((ADA, "_Ada_ (x)", 1.8), (GRACE, "Grace", 1.2), (LINUS, "Linus", None)):
        rooms.join(store, code, owner, nickname)
        if val is not None:
            save_run(store, owner, val=val, sample="<b>not bold</b> **nor this**")
    at = app({"room": code}, "pages/room.py")
    assert [(metric.label, metric.value) for metric in at.metric] == [("In the room", "3"), ("Trained", "2")]
    table = at.dataframe[0].value
    assert list(table["Nickname"]) == ["Grace", "_Ada_ (x)", "Linus"]  # a cell is plain text: the underscores stay
    assert list(table["Bits/char"]) == ["1.200", "1.800", ""] and list(table["Status"]) == ["done", "done", "no run yet"]
    assert [code_block.value for code_block in at.code] == ["<b>not bold</b> **nor this**"]
    assert any("Best run: Grace, sample after epoch 10" == text.value for text in at.text)


def test_the_board_page_without_a_code_asks_for_one():
    at = app(page="pages/room.py")
    assert at.text_input(key="board_code")
    code = rooms.start(get_service().store, PRESENTER)
    at.text_input(key="board_code").input(code.lower()).run()
    assert not at.exception and at.metric and at.metric[0].value == "0"
