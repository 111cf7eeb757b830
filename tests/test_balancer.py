"""Two browser sessions through nginx in front of two app processes (deploy/run_balanced.sh)."""

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from browser import ROOT, button, chart_traces, chromium, free_port, process_tree_usage, type_text, wait_for, wait_for_health, wait_until_idle


@pytest.fixture(scope="module")
def balancer(tmp_path_factory):
    port = free_port()
    while any(_in_use(port + i) for i in (1, 2)):
        port = free_port()
    environ = {**os.environ, "PYTHON": sys.executable, "CHAR_RNN_DATA_DIR": str(tmp_path_factory.mktemp("shared-store"))}
    process = subprocess.Popen(["bash", "deploy/run_balanced.sh", str(port), "2"], cwd=ROOT, env=environ, start_new_session=True, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for_health(url, process)
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(20)


def app_processes(balancer_url):
    """{pid: port} of the app processes behind the balancer (they listen on its port + 1, + 2)."""
    port = int(balancer_url.rsplit(":", 1)[1])
    found = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                arguments = cmdline.read().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(arguments) and b"--server.port" in arguments:
            app_port = int(arguments[arguments.index(b"--server.port") + 1])
            if app_port in (port + 1, port + 2) and b"-m" in arguments:
                found[int(entry)] = app_port
    return found


def test_every_browser_gets_a_route_cookie(balancer):
    response = urllib.request.urlopen(balancer + "/")
    assert any(header.startswith("route=") for header in response.headers.get_all("Set-Cookie"))


def test_two_sessions_through_the_balancer_keep_their_own_models(balancer):
    with chromium() as browser:
        pages = []
        for text in ("aaaa bbbb aaaa bbbb " * 30, "xyz xyz zyx zyx " * 40):
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(balancer)
            button(page, "train_button").wait_for(timeout=30_000)
            wait_until_idle(page)
            type_text(page, text)
            field = page.locator(".st-key-epochs input")
            field.fill("30")
            field.press("Enter")
            wait_until_idle(page)
            button(page, "train_button").click()
            pages.append(page)
        for page, letters in zip(pages, ("ab \n", "xyz \n")):
            button(page, "resume_button").wait_for(timeout=60_000)
            # rerun the session: another page, then back; the model must still be this session's
            page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Generate").click()
            button(page, "generate_button").wait_for(timeout=10_000)
            button(page, "generate_button").click()
            wait_until_idle(page)
            assert set(page.locator(".sample-text").first.inner_text()) <= set(letters)
            page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Train").click()
            button(page, "resume_button").wait_for(timeout=10_000)
            assert set(page.locator(".sample-text").last.inner_text()) <= set(letters)


# last: it kills one of the module's two processes
def test_a_killed_process_s_users_get_their_runs_back_from_the_other(balancer):
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(balancer + "/?preset=help!&hidden_size=32&epochs=60")
        button(page, "train_button").wait_for(timeout=30_000)
        wait_until_idle(page)
        processes = app_processes(balancer)
        assert len(processes) == 2
        before = {pid: process_tree_usage(pid)[1] for pid in processes}
        button(page, "train_button").click()
        button(page, "resume_button").wait_for(timeout=60_000)
        wait_until_idle(page)
        assert wait_for(lambda: [len(trace["x"]) for trace in chart_traces(page)] == [60]), (chart_traces(page), page.locator("[data-testid=stMain]").inner_text()[:600])
        curve = chart_traces(page)
        busiest = max(processes, key=lambda pid: process_tree_usage(pid)[1] - before[pid])  # the one that trained it
        os.kill(busiest, signal.SIGKILL)  # no time to save anything more: the store has what was saved
        page.reload()
        assert wait_for(lambda: chart_traces(page) == curve, timeout=60)
        button(page, "resume_button").wait_for(timeout=10_000)


def _in_use(port):
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
