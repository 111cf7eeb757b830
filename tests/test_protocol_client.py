"""The browser-free load client (benchmarks/protocol_client.py) trains on the Train page as a browser would."""

import asyncio
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from browser import streamlit_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))  # benchmarks is not a package

from load_test import ROOM_SETTINGS, epochs_for, progress_spread, session_settings, visits_by_phase, worker_seconds_per_epoch  # noqa: E402
from playground.state import parse_link_value  # noqa: E402
from protocol_client import Session, TrainingResult, first_run_seconds, reached_target, train_room, training_over  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

TEXT = "abcabc abcabc " * 20
TINY_RUN = {"preset": "Your own text", "cell": "GRU", "hidden_size": 16, "epochs": 5, "val_fraction": 0.0}


def test_two_protocol_sessions_train_to_the_end():
    with streamlit_server(options=("--server.fileWatcherType", "none")) as url:
        # one session brings its text in the link, the other types it into the text area
        links = [urlencode({**TINY_RUN, "text": TEXT}), urlencode(TINY_RUN)]
        results = asyncio.run(train_room(url, links, texts=[None, TEXT], timeout=120))
        visitor_seconds = asyncio.run(first_run_seconds(url))
    for result in results:
        assert result.error is None
        assert result.completed
        assert result.target == 5
        assert result.progress[-1][1] == 5.0  # the last progress the server drew: "Epoch 5.0 of 5"
        assert result.first_run > 0
    assert visitor_seconds > 0


def forward(kind, fragment_ids=(), fragment_id="", status=None, hash_=None):
    """A ForwardMsg as the server sends it: a new_session, a cacheable delta, or a script_finished."""
    message = ForwardMsg()
    message.metadata.run.fragment_ids.extend(fragment_ids)
    if kind == "new_session":
        message.new_session.config.max_cached_message_age = 2
    elif kind == "delta":
        message.delta.new_element.markdown.body = hash_
        message.delta.fragment_id = fragment_id
        message.hash, message.metadata.cacheable = hash_, True
    else:
        message.script_finished = status
    return message


def script_run(session, fragment_ids=(), elements=(), status=None, drawn=()):
    """One script run as the client receives it: cacheable deltas (hash, fragment id), other
    elements drawn ("button", key) or ("progress", text), then script_finished (by default, the
    status of a successful full or fragment run)."""
    session.handle(forward("new_session", fragment_ids))
    for hash_, fragment_id in elements:
        session.handle(session.resolve_reference(forward("delta", fragment_id=fragment_id, hash_=hash_)))
    for element_type, value in drawn:
        message = ForwardMsg()
        if element_type == "button":
            message.delta.new_element.button.id = f"$$ID-0123abcd-{value}"
        else:
            message.delta.new_element.progress.text = value
        session.handle(message)
    if status is None:
        status = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_FRAGMENT_RUN_SUCCESSFULLY" if fragment_ids else "FINISHED_SUCCESSFULLY")
    session.handle(forward("script_finished", status=status))


def test_the_client_ages_its_message_cache_as_the_browser_does():
    session = Session("http://127.0.0.1:1")
    script_run(session, elements=[("page", ""), ("chart", "live")])  # a full run: the page and the live view's chart
    for _ in range(5):  # the live view's timer: its own runs age only its own messages
        script_run(session, fragment_ids=["live"])
    assert "page" in session.cache, "a fragment's runs dropped a message of the page the server may still refer to"
    assert "chart" not in session.cache
    for _ in range(5):  # runs cut short for another do not age anything
        script_run(session, status=ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN"))
    assert "page" in session.cache
    for _ in range(3):  # full runs that no longer draw it
        script_run(session)
    assert "page" not in session.cache


def test_a_run_is_over_only_once_the_page_shows_its_progress_again():
    session = Session("http://127.0.0.1:1")
    script_run(session, drawn=[("button", "stop_button")])
    script_run(session, ["waiting"], drawn=[("progress", "Waiting for a free worker: 3rd in line · Epoch 268.5 of 300")])
    # the run ended; the full run that draws Resume came without its live view's messages (a
    # fragment run that started before they were sent dropped them)
    script_run(session, drawn=[("button", "resume_button")])
    assert not training_over(session), "the client took a page without its progress bar for a run that ended early"
    script_run(session, ["live"], drawn=[("progress", "Epoch 300.0 of 300 · loss 0.064 bits/char")])
    assert training_over(session) and reached_target(session)


def test_a_run_that_stopped_early_is_over_with_its_progress_short_of_the_target():
    session = Session("http://127.0.0.1:1")
    script_run(session, drawn=[("button", "resume_button"), ("progress", "Epoch 120.0 of 300")])
    assert training_over(session) and not reached_target(session)


def test_the_load_test_refuses_a_room_of_no_sessions_in_words():
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "load_test.py"
    result = subprocess.run([sys.executable, str(script), "--client", "protocol", "--sessions", "0"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "--sessions: 0 must be at least 1" in result.stderr and "Traceback" not in result.stderr


def test_the_load_test_refuses_a_bad_run_length_in_words():
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "load_test.py"
    result = subprocess.run([sys.executable, str(script), "--client", "protocol", "--run-seconds", "0"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "--run-seconds: must be a number above 0, not 0" in result.stderr and "Traceback" not in result.stderr
    both = subprocess.run([sys.executable, str(script), "--client", "protocol", "--epochs", "300", "--run-seconds", "4"], capture_output=True, text=True, timeout=120)
    assert both.returncode == 2
    assert "--run-seconds: not allowed with argument --epochs" in both.stderr and "Traceback" not in both.stderr


def test_a_rooms_link_carries_the_rooms_model_and_the_epochs_for_its_run_seconds():
    link = parse_qs(session_settings(epochs_for(4.0, 0.004), "some text"))
    assert {name: parse_link_value(name, link[name][0]) for name in ROOM_SETTINGS} == ROOM_SETTINGS
    assert link["text"] == ["some text"] and link["epochs"] == ["1000"]
    assert epochs_for(0.001, 0.004) == 1  # a run is never shorter than an epoch


def test_the_rooms_run_length_is_timed_in_a_training_worker():
    per_epoch = worker_seconds_per_epoch()
    assert 0 < per_epoch < 1  # an epoch of a thousand characters, GRU H=64, in CPU seconds


def test_visitors_are_told_apart_by_whether_the_room_was_arriving_or_all_training():
    pressed_at, finished_at = [10.0, 12.0, 15.0], [40.0, 44.0, None]  # the third session failed
    results = [TrainingResult(trained_from=pressed, finished_at=finished) for pressed, finished in zip(pressed_at, finished_at)]
    visits = [(11.0, 3.0), (14.9, 2.5), (15.0, 0.4), (39.9, 0.6), (40.0, 0.2), (50.0, 0.1)]
    arriving, all_training = visits_by_phase(visits, results)
    assert arriving == [3.0, 2.5]  # before the last session pressed Train
    assert all_training == [0.4, 0.6]  # until the first session was done


def test_the_spread_compares_characters_trained_not_epochs_of_texts_of_different_lengths():
    # both trained 1,000 characters a second since they pressed Train at 0; the second's text is twice as long
    results = [TrainingResult(trained_from=0.0, finished_at=10.0, progress=[(10.0, 20.0)]), TrainingResult(trained_from=0.0, progress=[(9.0, 10.0)])]
    assert progress_spread(results, [500, 1000]) == 1.0
    assert progress_spread(results, [1000, 1000]) == 0.5
