"""The browser-free load client (benchmarks/protocol_client.py) trains on the Train page as a browser would."""

import asyncio
import sys
from pathlib import Path
from urllib.parse import urlencode

from browser import streamlit_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))  # benchmarks is not a package

from protocol_client import first_run_seconds, train_room  # noqa: E402

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
