"""A room full of people: N browser sessions train at once on one server; how does an idle visitor fare?

    .venv/bin/python benchmarks/load_test.py --sessions 5 10 20 [--epochs 150] [--room-niceness 19] [--timeout 600]
    .venv/bin/python benchmarks/load_test.py --client protocol --sessions 20 50 100 [--epochs 150 | --run-seconds 4] [--timeout 600]

For each N: a fresh `streamlit run` on loopback, N browser contexts in one Debian Chromium (the
room), each with its own text, all pressing Train. Meanwhile, in a Chromium of their own, a new
visitor opens the page again and again, timed from navigation to the Train button ("load"), and a
session that was already open changes a setting, timed until the server's answer updates its
link ("respond"). Reports sessions completed without error, p50/p95 of both, the server's resident
memory per training session, and after the room's tabs close, what the server kept.

Here the room's N browsers share the server's 2 cores, which a real room's laptops do not.
--room-niceness runs them below the server and the visitor, to tell the two costs apart.

--client protocol puts the room in one Python process instead (benchmarks/protocol_client.py), which
speaks Streamlit's websocket protocol as a browser tab does at a small part of a browser's CPU, so
rooms of 50 or 100 fit beside the server. For each N, on a fresh server: each session loads the
page with its settings in the link, its own text in the link too or typed into the text area (every
other session), presses Train and answers the live view's timer until its run reaches the target
(--epochs, or with --run-seconds S as many as one of the app's training workers trains here in S
seconds, timed first). Reports sessions completed; all done in (seconds from the
room's start to the last session's end); spread (when the first session is done, the slowest
session's characters trained per second since its Train over the fastest's: 1.00 is fair); a new visitor's seconds from opening a
websocket to the page's first script_finished (p50/p95 and how many, fresh protocol connections every
--visitor-pause seconds during the load), apart for the visitors who came while all N sessions
trained (from the last one's Train to the first one's end) and while the room arrived (its N
sessions open the page, type and press Train all at once, a rush no real room makes); one Chromium visitor's page load beside it (--browser-visits
times, navigation to the Train button); the server's memory per session ((peak - idle)/N of its
process tree, training workers included); and CPU seconds of the protocol client (its event loop's
thread) against the server's process tree over the load.
"""

import argparse
import asyncio
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from browser import button, launch, process_tree_usage, process_usage, streamlit_server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from protocol_client import first_run_seconds, train_room  # noqa: E402
from playground import workers  # noqa: E402
from playground.state import Settings, TrainingRun, link_value  # noqa: E402
from rnn_core.cli import finite_float, non_negative_int, positive_int  # noqa: E402

SESSION_TTL = 5
# The room's model. At the app's default learning rate (0.004) one of the room's texts diverges near
# epoch 820 (Adam on a text it has by heart), and a long room would count it as failed.
ROOM_SETTINGS = {"cell": "gru", "hidden_size": 64, "lr": 0.002, "val_fraction": 0.0}
CALIBRATION_EPOCHS = 300  # the piece's final sample is then ~2% of it
WORDS = "the cat dog sat ran on in a mat log sun moon red blue big small old new".split()


def session_text(index):
    """A short text of its own for session `index`."""
    words = [WORDS[(index * 7 + k * (index + 3)) % len(WORDS)] for k in range(24)]
    return (" ".join(words) + ". ") * 8


def session_settings(epochs, text=None):
    """The link's query string for a session's run (without "?"); the text too when given."""
    settings = {"preset": "Your own text", "text": text, "epochs": epochs, **{name: link_value(name, value) for name, value in ROOM_SETTINGS.items()}}
    return urlencode({name: value for name, value in settings.items() if value is not None})


def worker_seconds_per_epoch():
    """CPU seconds one of the app's training workers spends on an epoch of a room's run (session 0's
    text, CALIBRATION_EPOCHS of it in one piece), counted as the service counts a turn (Piece.cpu_seconds)."""
    run = TrainingRun(session_text(0), Settings(**ROOM_SETTINGS, epochs=CALIBRATION_EPOCHS))
    try:
        piece = workers.result(workers.start_piece(run.run_id, run.trainer, run.vocab, CALIBRATION_EPOCHS, None, (run.prime, run.settings.seed)))
    finally:
        workers.shut_down()
    return piece.cpu_seconds / CALIBRATION_EPOCHS


def epochs_for(run_seconds, seconds_per_epoch):
    """Epochs of a room's run that take about `run_seconds` of one worker's training here. Machines
    of one kind differ several-fold: on a fast one, a fixed number of epochs is a piece or two of
    training, and a room of such runs measures the order its sessions came in, not its turns.
    """
    return max(1, round(run_seconds / seconds_per_epoch))


def session_link(index, epochs):
    """Settings and a short text of its own for session `index`."""
    return "/?" + session_settings(epochs, session_text(index))


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


# -- --client protocol: the room in one asyncio process -----------------------------------------


class ChromiumVisitor(threading.Thread):
    """A real browser's page load beside the protocol room: up to `visits` times, `pause` s apart.

    Its own thread: Playwright's sync API will not run inside the room's asyncio loop.
    """

    def __init__(self, url, visits, pause):
        super().__init__(daemon=True)
        self.url, self.visits, self.pause = url, visits, pause
        self.ready, self.go, self.done = threading.Event(), threading.Event(), threading.Event()
        self.load_times, self.error = [], None

    def run(self):
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)  # before the room starts: Chromium's start is not a page load
                self.ready.set()
                self.go.wait()
                while len(self.load_times) < self.visits and not self.done.is_set():
                    self.load_times.append(self.visit(browser))
                    self.done.wait(self.pause)
                browser.close()
        except Exception as error:  # a benchmark reports the browser's failure and goes on
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self.ready.set()

    def visit(self, browser):
        page = browser.new_context().new_page()
        opened = time.perf_counter()
        page.goto(self.url)
        button(page, "train_button").wait_for(timeout=120_000)
        seconds = time.perf_counter() - opened
        page.context.close()
        return seconds


async def visit_repeatedly(url, pause, stop):
    """A new protocol visitor every `pause` seconds until `stop` is set: [(when it came (time.monotonic()), its first-run seconds)]."""
    times = []
    while not stop.is_set():
        try:
            came = time.monotonic()
            times.append((came, await first_run_seconds(url)))
        except Exception as error:  # noqa: BLE001 - a failed visit is a result, not a crash
            print(f"  a visitor's page load failed: {type(error).__name__}: {error}", file=sys.stderr)
        try:
            await asyncio.wait_for(stop.wait(), pause)
        except asyncio.TimeoutError:
            pass
    return times


async def sample_memory(pid, stop, every=1.0):
    """Peak resident MB of the server's process tree, sampled every `every` s until `stop` is set."""
    peak = 0.0
    while not stop.is_set():
        peak = max(peak, process_tree_usage(pid)[0])
        try:
            await asyncio.wait_for(stop.wait(), every)
        except asyncio.TimeoutError:
            pass
    return peak


async def protocol_room(url, server_pid, sessions, epochs, timeout, visitor_pause):
    """N protocol sessions train while visitors come; returns (results, visitor times, peak MB, seconds)."""
    stop = asyncio.Event()
    # Odd sessions bring their text in the link, even ones type it in: a room arrives both ways.
    in_link = [index % 2 == 1 for index in range(sessions)]
    links = [session_settings(epochs, session_text(index) if in_link[index] else None) for index in range(sessions)]
    texts = [None if in_link[index] else session_text(index) for index in range(sessions)]
    visitors = asyncio.create_task(visit_repeatedly(url, visitor_pause, stop))
    memory = asyncio.create_task(sample_memory(server_pid, stop))
    started = time.monotonic()
    results = await train_room(url, links, texts, timeout)
    seconds = max((result.finished_at or time.monotonic()) for result in results) - started
    stop.set()
    return results, await visitors, await memory, seconds


def progress_spread(results, epoch_chars):
    """When the first session was done: the slowest session's characters trained per second since
    it pressed Train, over the fastest's. A room's sessions press Train over half a minute or more,
    so their progress alone at that moment would measure when each arrived, not how fairly the turns
    went; and their texts differ in length (744 to 1,160 characters), so epochs are not equal work.
    epoch_chars[i]: the characters of session i's text, one epoch of it (the room trains on all of it).
    """
    finished = [result.finished_at for result in results if result.finished_at is not None]
    if not finished:
        return None
    moment = min(finished)
    rates = [chars * result.fraction_at(moment) / (moment - result.trained_from) for result, chars in zip(results, epoch_chars) if result.trained_from is not None and result.trained_from < moment]
    return min(rates) / max(rates) if rates and max(rates) > 0 else None


def visits_by_phase(visits, results):
    """The first-run seconds of the visitors who came while the room arrived (before its last
    session pressed Train), and of those who came while all its sessions trained (until the first
    was done). visits: [(when it came, seconds)] from visit_repeatedly.
    """
    pressed = [result.trained_from for result in results if result.trained_from is not None]
    finished = [result.finished_at for result in results if result.finished_at is not None]
    all_training_from = max(pressed, default=float("inf"))
    all_training_until = min(finished, default=float("inf"))
    arriving = [seconds for came, seconds in visits if came < all_training_from]
    all_training = [seconds for came, seconds in visits if all_training_from <= came < all_training_until]
    return arriving, all_training


def p50_p95(seconds):
    return (statistics.median(seconds), percentile(seconds, 0.95)) if seconds else (float("nan"), float("nan"))


def run_protocol_room(url, server, sessions, epochs, timeout, visitor_pause, browser_visits, browser_pause):
    asyncio.run(first_run_seconds(url))  # the app's first run imports its modules: not part of the load
    idle_memory, server_cpu_before = process_tree_usage(server.pid)
    chromium = ChromiumVisitor(url, browser_visits, browser_pause)
    if browser_visits:
        chromium.start()
        chromium.ready.wait(120)
    chromium.go.set()
    client_cpu_before = time.thread_time()  # this thread runs the whole protocol room; Chromium's thread is apart
    results, visits, peak_memory, seconds = asyncio.run(protocol_room(url, server.pid, sessions, epochs, timeout, visitor_pause))
    client_cpu = time.thread_time() - client_cpu_before
    server_cpu = process_tree_usage(server.pid)[1] - server_cpu_before
    chromium.done.set()
    if browser_visits:
        chromium.join(150)
    arriving, all_training = visits_by_phase(visits, results)
    errors = sorted({result.error for result in results if result.error})
    for error in errors[:3]:
        print(f"  a session failed: {error}", file=sys.stderr)
    if chromium.error:
        print(f"  the Chromium visitor failed: {chromium.error}", file=sys.stderr)
    return {
        "completed": sum(result.completed for result in results),
        "seconds": seconds,
        "spread": progress_spread(results, [len(session_text(index)) for index in range(sessions)]),
        "arriving": arriving,
        "all_training": all_training,
        "chromium": chromium.load_times,
        "memory_per_session": (max(peak_memory, idle_memory) - idle_memory) / sessions,
        "peak_memory": peak_memory,
        "idle_memory": idle_memory,
        "client_cpu": client_cpu,
        "server_cpu": server_cpu,
    }


def protocol_mode(args):
    print(f"{'N':>4}{'completed':>11}{'all done in':>13}{'spread':>8}{'visit p50/p95 (n) all training':>32}{'arriving':>22}{'Chromium loads':>22}{'MB/session':>12}{'peak MB':>9}{'idle MB':>9}{'CPU client/server':>19}")
    for sessions in args.sessions:
        options = ("--server.fileWatcherType", "none", "--server.disconnectedSessionTTL", str(SESSION_TTL))
        with streamlit_server(options=options, with_process=True) as (url, server):
            row = run_protocol_room(url, server, sessions, args.epochs, args.timeout, args.visitor_pause, args.browser_visits, args.browser_pause)
        spread = f"{row['spread']:.2f}" if row["spread"] is not None else "-"
        chromium = " ".join(f"{seconds:.1f}" for seconds in row["chromium"]) or "-"
        visits = {phase: "{:.2f}/{:.2f} s ({})".format(*p50_p95(row[phase]), len(row[phase])) for phase in ("all_training", "arriving")}
        print(
            f"{sessions:>4}{row['completed']:>8}/{sessions:<3}{row['seconds']:>11.0f}s{spread:>8}{visits['all_training']:>32}{visits['arriving']:>22}"
            f"{chromium + ' s':>22}{row['memory_per_session']:>12.1f}{row['peak_memory']:>9.0f}{row['idle_memory']:>9.0f}"
            f"{row['client_cpu']:>12.1f}/{row['server_cpu']:.1f} s",
            flush=True,
        )


def chromium_mode(args):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", choices=["chromium", "protocol"], default="chromium", help="the room: Chromium tabs, or protocol_client.py sessions in one process")
    parser.add_argument("--sessions", type=positive_int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--room-niceness", type=int, default=0, help="CPU niceness of the room's browser (0-19; chromium)")
    run_length = parser.add_mutually_exclusive_group()
    run_length.add_argument("--epochs", type=positive_int, default=150, help="of each session's run")
    run_length.add_argument("--run-seconds", type=finite_float(0), default=None, help="instead of --epochs: as many as one training worker trains here in this many seconds")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--visitor-pause", type=float, default=2.0, help="seconds between protocol visitors (protocol)")
    parser.add_argument("--browser-visits", type=non_negative_int, default=3, help="Chromium page loads during the load, 0 for none (protocol)")
    parser.add_argument("--browser-pause", type=float, default=10.0, help="seconds between Chromium page loads (protocol)")
    args = parser.parse_args()
    if args.run_seconds is not None:
        args.epochs = epochs_for(args.run_seconds, worker_seconds_per_epoch())
        print(f"Each session trains {args.epochs:,} epochs: about {args.run_seconds:g} s of one worker's training here.", flush=True)
    if args.client == "protocol":
        protocol_mode(args)
    else:
        chromium_mode(args)


if __name__ == "__main__":
    main()
