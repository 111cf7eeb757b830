"""Start the app with `streamlit run` on a free loopback port and drive it in Debian's Chromium."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path():
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium is not installed: run tests/run.sh, which installs Debian's chromium")
    return path


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(timeout=60, options=(), with_process=False, data_dir=None, port=None, environ=None):
    """Yield the base URL of the app served on 127.0.0.1 (and the process, with_process); stop it afterwards.

    options: extra `streamlit run` options, e.g. ("--server.disconnectedSessionTTL", "2").
    data_dir: the run store's folder (CHAR_RNN_DATA_DIR); by default a new one, removed afterwards.
    port: a given port (to restart a server where it was); environ: more environment variables.
    """
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="char-rnn-data-"))
        port = port or free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true", *options],
            cwd=ROOT,
            env={**os.environ, "CHAR_RNN_DATA_DIR": str(data_dir), **(environ or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_health(url, process, timeout)
            yield (url, process) if with_process else url
        finally:
            stop(process)


def stop(process):
    """Stop a server as a deployment would (SIGTERM: it saves its runs), killing it if it hangs."""
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_health(url, process, timeout=60):
    """Wait until the app at `url` answers its health check; fail if `process` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app did not start") from None
            time.sleep(0.2)


def type_text(page, text):
    """Replace the training text and commit it (a text area commits on Ctrl+Enter)."""
    area = page.locator(".st-key-text textarea")
    area.fill(text)
    area.press("Control+Enter")
    wait_until_idle(page)


@contextlib.contextmanager
def chromium(niceness=0):
    """A headless Chromium browser (Playwright), the Debian build, at CPU `niceness` (0 to 19)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, niceness)
        try:
            yield browser
        finally:
            browser.close()


def launch(playwright, niceness=0):
    """Launch Debian's Chromium, headless, at CPU `niceness` (0 to 19)."""
    if not niceness:
        return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    with tempfile.TemporaryDirectory() as folder:
        wrapper = os.path.join(folder, "chromium")
        with open(wrapper, "w") as script:
            # Playwright starts the browser in a session of its own, which Linux schedules as a group
            # (autogroup) beside the server's, whatever each process's niceness; and Chromium sets
            # its processes' niceness itself. So the group's niceness is set, where Linux has one.
            script.write(f'#!/bin/sh\necho {int(niceness)} > /proc/self/autogroup 2>/dev/null\nexec nice -n {int(niceness)} "{chromium_path()}" "$@"\n')
        os.chmod(wrapper, 0o755)
        return playwright.chromium.launch(executable_path=wrapper, args=CHROMIUM_ARGS)


def wait_until_idle(page, timeout=30_000):
    """Wait for the app's script to finish running."""
    page.wait_for_timeout(200)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached", timeout=timeout)


def new_page(browser, width=1400, height=1000):
    """A page in a fresh browser context: a session of its own."""
    return browser.new_context(viewport={"width": width, "height": height}).new_page()


def open_app(page, url):
    """Open the app at `url` and wait until its Train page is ready."""
    page.goto(url)
    button(page, "train_button").wait_for(timeout=30_000)
    wait_until_idle(page)


def set_number(page, key, value):
    field = page.locator(f".st-key-{key} input")
    field.fill(str(value))
    field.press("Enter")
    wait_until_idle(page)


def train_to_the_end(page, timeout=60_000, from_scratch=False):
    """Press Train (and confirm, from_scratch, that the model trained before goes) and wait until the run is over."""
    button(page, "train_button").click()
    if from_scratch:
        button(page, "confirm_button").click()
        # the old run's Resume stays on screen until the page has redrawn for the new one
        page.locator(".st-key-confirm_button").wait_for(state="detached", timeout=timeout)
    button(page, "resume_button").wait_for(timeout=timeout)
    wait_until_idle(page)


def generate(page, prime):
    """On the Generate page: type a seed text and press Generate; returns when the page is drawn."""
    field = page.locator(".st-key-prime input")
    field.fill(prime)
    field.press("Enter")
    wait_until_idle(page)
    button(page, "generate_button").click()
    wait_until_idle(page)


def wait_for(condition, timeout=20.0, interval=0.1):
    """Poll condition() until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def button(page, key):
    return page.locator(f".st-key-{key} button").filter(visible=True).first  # a replaced one can linger, hidden


def chart_traces(page):
    """The first chart's traces as the browser draws them: [{"name", "x", "y"}], [] without a chart.

    They come from plotly.js's `_fullData`: `data` keeps the figure as sent, where numpy arrays are
    typed-array specs ({dtype, bdata}), not arrays.
    """
    return page.evaluate(
        "() => { const plot = document.querySelector('.js-plotly-plot');"
        " return plot && plot._fullData ? plot._fullData.map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)})) : []; }"
    )


def chart_points(page):
    """How many points the loss chart's train curve holds, or 0 without a chart."""
    traces = chart_traces(page)
    return len(traces[0]["x"]) if traces else 0


def last_sample(page):
    """The newest sample on the page (on Train, the latest one), as text."""
    return page.locator(".sample-text").last.inner_text()


def process_tree_usage(pid):
    """(resident MB, CPU seconds) of a process and every process it started, e.g. the server's training workers."""
    parents = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    tree, grown = {pid}, True
    while grown:
        children = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= children
        grown = bool(children)
    usages = []
    for member in tree:
        try:
            usages.append(process_usage(member))
        except (OSError, StopIteration):
            continue  # it ended meanwhile
    return sum(memory for memory, _ in usages), sum(cpu for _, cpu in usages)


def process_usage(pid):
    """(resident MB, CPU seconds) of a process and its threads."""
    with open(f"/proc/{pid}/status") as status:
        resident = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return resident, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
