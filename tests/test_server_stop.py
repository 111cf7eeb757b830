"""A stopped or killed server leaves no training process behind."""

import os
import signal
import time
from pathlib import Path

import pytest

from browser import streamlit_server


def children(pid):
    """Process ids of `pid`'s children (Linux /proc)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["terminated", "killed"])
def test_the_training_workers_end_with_their_server(how):
    with streamlit_server(with_process=True) as (_, server):
        deadline = time.monotonic() + 30
        while len(workers := children(server.pid)) < 2 and time.monotonic() < deadline:  # the pool and its resource tracker
            time.sleep(0.2)
        assert len(workers) >= 2, "the server started no training workers"
        os.kill(server.pid, how)
        server.wait(20)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if alive(pid)], f"left behind after {how.name}"
