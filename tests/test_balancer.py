"""Two browser sessions through nginx in front of two app processes (deploy/run_balanced.sh)."""

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from browser import ROOT, button, chromium, free_port, type_text, wait_for_health, wait_until_idle


@pytest.fixture(scope="module")
def balancer():
    port = free_port()
    while any(_in_use(port + i) for i in (1, 2)):
        port = free_port()
    process = subprocess.Popen(
        ["bash", "deploy/run_balanced.sh", str(port), "2"], cwd=ROOT, env={**os.environ, "PYTHON": sys.executable}, start_new_session=True, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_health(url, process)
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(20)


def _in_use(port):
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


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
            assert set(page.locator("[data-testid=stCode]").first.inner_text()) <= set(letters)
            page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Train").click()
            button(page, "resume_button").wait_for(timeout=10_000)
            assert set(page.locator("[data-testid=stCode]").last.inner_text()) <= set(letters)
