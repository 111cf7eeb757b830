"""A room full of people: N browser sessions train at once on one server; how does an idle visitor fare?

    .venv/bin/python benchmarks/load_test.py --sessions 5 10 20 [--timeout 300]

For each N: a fresh `streamlit run` on loopback, N browser contexts in Debian's Chromium, each with
its own text, all pressing Train; meanwhile a new visitor opens the page again and again, timed from
navigation to the Train button. Reports sessions completed without error, the visitor's p50/p95,
and the server's resident memory per training session.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import button, chromium, process_usage, streamlit_server  # noqa: E402

WORDS = "the cat dog sat ran on in a mat log sun moon red blue big small old new".split()


def session_link(index):
    """Settings and a short text of its own for session `index`."""
    words = [WORDS[(index * 7 + k * (index + 3)) % len(WORDS)] for k in range(24)]
    text = (" ".join(words) + ". ") * 8
    settings = {"preset": "Your own text", "text": text, "cell": "GRU", "hidden_size": 64, "epochs": 40, "val_fraction": 0.0}
    return "/?" + urlencode(settings)


def run_room(browser, url, server, sessions, timeout):
    pages = []
    for index in range(sessions):
        page = browser.new_context().new_page()
        page.goto(url + session_link(index))
        pages.append(page)
    for page in pages:
        button(page, "train_button").wait_for(timeout=120_000)
    idle_memory, _ = process_usage(server.pid)
    for page in pages:
        button(page, "train_button").click()
    started = time.monotonic()
    latencies, peak_memory = [], idle_memory
    done = set()
    while len(done) < sessions and time.monotonic() - started < timeout:
        visitor = browser.new_context().new_page()
        opened = time.perf_counter()
        visitor.goto(url)
        button(visitor, "train_button").wait_for(timeout=120_000)
        latencies.append(time.perf_counter() - opened)
        visitor.context.close()
        peak_memory = max(peak_memory, process_usage(server.pid)[0])
        for index, page in enumerate(pages):
            if index not in done and page.locator(".st-key-resume_button button").count():
                done.add(index)
    errors = sum(page.locator("[data-testid=stException]").count() > 0 for page in pages)
    for page in pages:
        page.context.close()
    latencies.sort()
    return {
        "completed": len(done) - errors,
        "seconds": time.monotonic() - started,
        "p50": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "memory_per_session": (peak_memory - idle_memory) / sessions,
        "peak_memory": peak_memory,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    print(f"{'N':>4}{'completed':>11}{'all done in':>13}{'idle p50':>10}{'idle p95':>10}{'MB/session':>12}{'peak MB':>9}")
    for sessions in args.sessions:
        with streamlit_server(with_process=True) as (url, server), chromium() as browser:
            row = run_room(browser, url, server, sessions, args.timeout)
        print(
            f"{sessions:>4}{row['completed']:>8}/{sessions:<2}{row['seconds']:>12.0f}s{row['p50']:>9.2f}s{row['p95']:>9.2f}s"
            f"{row['memory_per_session']:>12.0f}{row['peak_memory']:>9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
