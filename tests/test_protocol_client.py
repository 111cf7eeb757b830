"""The browser-free load client (benchmarks/protocol_client.py) trains on the Train page as a browser would."""

import asyncio
import sys
from pathlib import Path
from urllib.parse import urlencode

from browser import streamlit_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))  # benchmarks is not a package

from protocol_client import Session, first_run_seconds, train_room  # noqa: E402
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


def script_run(session, fragment_ids=(), elements=(), status=ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")):
    session.handle(forward("new_session", fragment_ids))
    for hash_, fragment_id in elements:
        session.handle(session.resolve_reference(forward("delta", fragment_id=fragment_id, hash_=hash_)))
    session.handle(forward("script_finished", status=status))


def test_the_client_ages_its_message_cache_as_the_browser_does():
    session = Session("http://127.0.0.1:1")
    script_run(session, elements=[("page", ""), ("chart", "live")])  # a full run: the page and the live view's chart
    for _ in range(5):  # the live view's timer: its own runs age only its own messages
        script_run(session, fragment_ids=["live"], status=ForwardMsg.ScriptFinishedStatus.Value("FINISHED_FRAGMENT_RUN_SUCCESSFULLY"))
    assert "page" in session.cache, "a fragment's runs dropped a message of the page the server may still refer to"
    assert "chart" not in session.cache
    for _ in range(5):  # runs cut short for another do not age anything
        script_run(session, status=ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN"))
    assert "page" in session.cache
    for _ in range(3):  # full runs that no longer draw it
        script_run(session)
    assert "page" not in session.cache
