"""Reaching an AppTest session's runs: they live in the training service, under the session's owner."""

import base64
import html
import json
import re
import time

import numpy as np

from playground.service import get_service
from playground.ui.common import COLLAPSE_SIDEBAR_ON_NARROW_SCREENS, KEYBOARD_SCROLLING


def owner_of(at):
    """The service's record of the AppTest session's browser (a session without a cookie owns its runs alone)."""
    return get_service().owner(at.session_state["owner_of_this_session"])


def current_run(at):
    return owner_of(at).current


def kept_runs(at):
    return owner_of(at).kept


def wait_for_run(at, timeout=60):
    """Wait until the session's current run stops training (the service trains it meanwhile), then rerun the page."""
    deadline = time.monotonic() + timeout
    run = current_run(at)
    while run is not None and (run.training or run.in_flight) and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    assert not at.exception
    return current_run(at)


def wait_until(at, condition, timeout=60):
    """Rerun the page until condition() holds (a timer fragment's ticks, which AppTest does not fire)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    return condition()


def shown_samples(block):
    """The samples an AppTest page (or a block of it) shows, as text: [(text, [copied stretch, ...])]."""
    found = []
    for element in block.get("html"):
        body = element.proto.body
        if 'class="sample-text"' in body:
            marked = [html.unescape(stretch) for stretch in re.findall(r"<mark[^>]*>(.*?)</mark>", body, flags=re.S)]
            found.append((html.unescape(re.sub(r"<[^>]+>", "", body)), marked))
    return found


def page_html(at):
    """The bodies of the st.html elements a page drew, without the app's own styles and script."""
    bodies = [element.proto.body for element in at.get("html")]
    return [body for body in bodies if not body.startswith("<style>") and body not in (COLLAPSE_SIDEBAR_ON_NARROW_SCREENS, KEYBOARD_SCROLLING)]


def chart_spec(at, index=0):
    """The page's index-th plotly chart as plotly's JSON, its traces' arrays decoded to lists.

    Plotly sends numpy arrays as typed arrays ({"dtype": "f4", "bdata": base64}); plotly.js
    decodes them in the browser, this does for a test.
    """
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    for trace in spec["data"]:
        for field, value in trace.items():
            if isinstance(value, dict) and "bdata" in value:
                trace[field] = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return spec
