"""A room full of people: N browser sessions train at once on one server; how does an idle visitor fare?

    .venv/bin/python benchmarks/load_test.py --sessions 5 10 20 [--epochs 150] [--room-niceness 19] [--timeout 600]

For each N: a fresh `streamlit run` on loopback, N browser contexts in one Debian Chromium (the
room), each with its own text, all pressing Train. Meanwhile, in a Chromium of their own, a new
visitor opens the page again and again, timed from navigation to the Train button ("load"), and a
session that was already open changes a setting, timed until the server's answer updates its
link ("respond"). Reports sessions completed without error, p50/p95 of both, the server's resident
memory per training session, and after the room's tabs close, what the server kept.

Here the room's N browsers share the server's 2 cores, which a real room's laptops do not.
--room-niceness runs them below the server and the visitor, to tell the two costs apart.
"""

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import button, launch, process_usage, streamlit_server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

SESSION_TTL = 5
WORDS = "the cat dog sat ran on in a mat log sun moon red blue big small old new".split()


def session_link(index, epochs):
    """Settings and a short text of its own for session `index`."""
    words = [WORDS[(index * 7 + k * (index + 3)) % len(WORDS)] for k in range(24)]
    text = (" ".join(words) + ". ") * 8
    settings = {"preset": "Your own text", "text": text, "cell": "GRU", "hidden_size": 64, "epochs": epochs, "val_fraction": 0.0}
    return "/?" + urlencode(settings)


def percentile(values, fraction):
    return sorted(values)[min(len(values) - 1, int(fraction * len(values)))]


def respond_time(page, hidden_size):
    """Seconds from changing a setting in an open page to the server's answer (the link updates)."""
    field = page.locator(".st-key-hidden_size input")
    started = time.perf_counter()
    field.fill(str(hidden_size))
    field.press("Enter")
    page.wait_for_url(re.compile(rf"hidden_size={hidden_size}(&|$)"), timeout=120_000)
    return time.perf_counter() - started


def run_room(room, visitors, url, server, sessions, epochs, timeout):
    pages = []
    for index in range(sessions):
        page = room.new_context().new_page()
        page.goto(url + session_link(index, epochs))
        pages.append(page)
    for page in pages:
        button(page, "train_button").wait_for(timeout=120_000)
    idle = visitors.new_context().new_page()  # a session already open that does not train
    idle.goto(url)
    button(idle, "train_button").wait_for(timeout=120_000)
    idle_memory, _ = process_usage(server.pid)
    for page in pages:
        button(page, "train_button").click()
    started = time.monotonic()
    latencies, responses, peak_memory = [], [], idle_memory
    done = set()
    while len(done) < sessions and time.monotonic() - started < timeout:
        responses.append(respond_time(idle, 64 + 16 * (len(responses) % 2)))
        visitor = visitors.new_context().new_page()
        opened = time.perf_counter()
        visitor.goto(url)
        button(visitor, "train_button").wait_for(timeout=120_000)
        latencies.append(time.perf_counter() - opened)
        visitor.context.close()
        peak_memory = max(peak_memory, process_usage(server.pid)[0])
        for index, page in enumerate(pages):
            if index not in done and page.locator(".st-key-resume_button button").count():
                done.add(index)
    seconds = time.monotonic() - started
    errors = sum(page.locator("[data-testid=stException]").count() > 0 for page in pages)
    for page in pages:
        page.context.close()
    time.sleep(SESSION_TTL + 5)  # the server forgets closed tabs' sessions after their TTL
    after_close = process_usage(server.pid)[0]
    idle.context.close()
    return {
        "completed": len(done) - errors,
        "seconds": seconds,
        "visits": len(latencies),
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 0.95),
        "respond_p50": statistics.median(responses),
        "respond_p95": percentile(responses, 0.95),
        "memory_per_session": (peak_memory - idle_memory) / sessions,
        "peak_memory": peak_memory,
        "after_close": after_close,
        "idle_memory": idle_memory,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--room-niceness", type=int, default=0, help="CPU niceness of the room's browser (0-19)")
    parser.add_argument("--epochs", type=int, default=150, help="of each session's run")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    print(f"{'N':>4}{'completed':>11}{'all done in':>13}{'load p50':>10}{'load p95':>10}{'respond p50':>13}{'respond p95':>13}{'visits':>8}{'MB/session':>12}{'peak MB':>9}{'MB before/after':>17}")
    for sessions in args.sessions:
        options = ("--server.disconnectedSessionTTL", str(SESSION_TTL))
        with streamlit_server(options=options, with_process=True) as (url, server), sync_playwright() as playwright:
            room, visitors = launch(playwright, args.room_niceness), launch(playwright)
            row = run_room(room, visitors, url, server, sessions, args.epochs, args.timeout)
        print(
            f"{sessions:>4}{row['completed']:>8}/{sessions:<2}{row['seconds']:>12.0f}s{row['p50']:>9.2f}s{row['p95']:>9.2f}s"
            f"{row['respond_p50']:>12.2f}s{row['respond_p95']:>12.2f}s{row['visits']:>8}"
            f"{row['memory_per_session']:>12.1f}{row['peak_memory']:>9.0f}{row['idle_memory']:>9.0f}/{row['after_close']:.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
