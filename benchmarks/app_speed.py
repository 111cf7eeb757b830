"""The app's speed in a real browser: page load, the "help!" run, and what the live view costs.

    .venv/bin/python benchmarks/app_speed.py [--repeats 5] [--browser-niceness 19]

Starts `streamlit run` on a free loopback port and drives Debian's Chromium (as the browser tests do).
- page load: from navigation to the Train button, in a fresh browser context each time;
- help!: from the click on Train to the finished 300-epoch run (the Resume button);
- live view overhead: the same training in the app (chart, progress and samples redrawn live) and
  through rnn_core alone, for the same epochs, two ways: wall time from the click on Train to the
  finished run (the engine's from the call), and from the run's first point to its end, which
  leaves out what a run pays once at its start (the click's page run, the first piece's hand-over:
  the first-point latency, measured in tests/test_runs_outlive_the_tab.py) and measures what the
  live view costs while it trains. The app's workers run one BLAS thread each, so rnn_core alone
  runs in a process set the same way; its time with numpy's default threads is printed too.

Here the browser shares the server's 2 cores, which a visitor's own laptop does not: its redraws
take CPU from the training worker. --browser-niceness runs Chromium below the worker (it runs at
playground.workers.NICENESS), to tell that cost apart from the server's own.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser import button, chromium, streamlit_server, wait_until_idle  # noqa: E402
from playground.presets import PRESETS, preset_text  # noqa: E402
from playground.state import Settings, TrainingRun  # noqa: E402
from playground.workers import BLAS_THREAD_VARIABLES  # noqa: E402

HELP = {"preset": PRESETS["help"][0], "cell": "RNN", "hidden_size": 100, "seq_len": 4, "batch_size": 1, "optimizer": "Adagrad", "lr": 0.1, "epochs": 300, "val_fraction": 0.0}
LIVE = {"preset": PRESETS["pydocs"][0], "cell": "GRU", "hidden_size": 128, "seq_len": 64, "batch_size": 32, "optimizer": "Adam", "lr": 0.004, "epochs": 30, "val_fraction": 0.1}


def load_seconds(browser, url):
    context = browser.new_context()
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    button(page, "train_button").wait_for(timeout=30_000)
    seconds = time.perf_counter() - started
    context.close()
    return seconds


# Stamps, in the page's own clock, the moments the first progress bar (the run's first point) and
# the Resume button (the finished run) are drawn; polling from here would cost the browser CPU.
WATCH_THE_RUN = """() => {
    window.runMoments = {};
    new MutationObserver(() => {
        if (!window.runMoments.firstPoint && document.querySelector("[data-testid=stProgress]")) window.runMoments.firstPoint = performance.now();
        if (!window.runMoments.done && document.querySelector(".st-key-resume_button button")) window.runMoments.done = performance.now();
    }).observe(document.body, {childList: true, subtree: true});
}"""


def train_seconds_in_app(browser, url, settings):
    """(From the click on Train to the finished run, from the run's first point to its end), in the
    browser. A run of a few seconds can draw Resume before its progress bar: then the second is None."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/?{urlencode(settings)}")
    button(page, "train_button").wait_for(timeout=30_000)
    wait_until_idle(page)
    page.evaluate(WATCH_THE_RUN)
    started = time.perf_counter()
    button(page, "train_button").click()
    button(page, "resume_button").wait_for(timeout=600_000)
    seconds = time.perf_counter() - started
    moments = page.evaluate("() => window.runMoments")
    context.close()
    first_point = moments.get("firstPoint")
    return seconds, (moments["done"] - first_point) / 1000 if first_point is not None and first_point < moments["done"] else None


def train_seconds_in_engine(settings):
    """(The whole run, from its first point to its end) of the same epochs through rnn_core alone
    (validation included, no samples, no drawing)."""
    values = {key: value for key, value in settings.items() if key != "preset"}
    values["cell"], values["optimizer"] = values["cell"].lower(), values["optimizer"].lower()
    key = next(name for name, preset in PRESETS.items() if preset[0] == settings["preset"])
    run = TrainingRun(preset_text(key), Settings(**values))
    first_point = []

    def stamp_first_point(event):
        if not first_point:
            first_point.append(time.perf_counter())

    started = time.perf_counter()
    run.trainer.train(run.target_epochs, callback=stamp_first_point)
    ended = time.perf_counter()
    return ended - started, ended - first_point[0]


def engine_seconds_in_subprocess(threads):
    """train_seconds_in_engine(LIVE) in a fresh process with `threads` BLAS threads (None: numpy's default)."""
    env = dict(os.environ)
    for variable in BLAS_THREAD_VARIABLES:
        env.pop(variable, None)
        if threads:
            env[variable] = str(threads)
    code = "import app_speed; print(*app_speed.train_seconds_in_engine(app_speed.LIVE))"
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent, env=env, capture_output=True, text=True, check=True)
    whole, from_first_point = result.stdout.split()[-2:]
    return float(whole), float(from_first_point)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--browser-niceness", type=int, default=0, choices=range(20), metavar="0-19", help="Chromium's CPU niceness")
    args = parser.parse_args()
    with streamlit_server() as url, chromium(args.browser_niceness) as browser:
        first = load_seconds(browser, url)
        loads = [load_seconds(browser, url) for _ in range(args.repeats)]
        print(f"page load: first {first:.2f} s, then median {statistics.median(loads):.2f} s (max {max(loads):.2f} s) over {args.repeats}")
        helps = [train_seconds_in_app(browser, url, HELP)[0] for _ in range(args.repeats)]
        print(f'"help!" 300 epochs, click to finished: median {statistics.median(helps):.2f} s (max {max(helps):.2f} s)')
        # alternate the two, so that drift in this machine's speed falls on both alike
        app, engine, engine_default = [], [], []
        for _ in range(args.repeats):
            engine.append(engine_seconds_in_subprocess(1))
            engine_default.append(engine_seconds_in_subprocess(None))
            app.append(train_seconds_in_app(browser, url, LIVE))
    label = f"{LIVE['cell']} H={LIVE['hidden_size']} B={LIVE['batch_size']} T={LIVE['seq_len']}, {LIVE['epochs']} epochs of '{LIVE['preset']}'"
    print(f"live view: {label}, Chromium at niceness {args.browser_niceness}, medians over {args.repeats}:")
    for index, span in enumerate(("click to finished", "first point to end")):
        in_app = statistics.median(seconds[index] for seconds in app)
        alone = statistics.median(seconds[index] for seconds in engine)
        print(f"  {span}: app {in_app:.1f} s, rnn_core alone {alone:.1f} s (one BLAS thread, as in the app's workers), overhead {100 * (in_app / alone - 1):+.1f}%")
    print(f"  rnn_core alone with numpy's default BLAS threads: {statistics.median(seconds[0] for seconds in engine_default):.1f} s")


if __name__ == "__main__":
    main()
