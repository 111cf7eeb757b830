"""Runs belong to the browser, live on the server and outlive the tab: in Chromium, against real servers."""

import time
from urllib.parse import urlencode

from browser import button, chart_points, chart_traces, free_port, new_page, open_app, set_number, stop, streamlit_server, train_to_the_end, wait_for, wait_until_idle
from playground.owner import COOKIE_NAME
from playground.store import FILE_NAME

HELP = {"preset": "help!", "hidden_size": 32, "epochs": 60}
LONG = {"epochs": 3000}


def owner_cookie(page):
    return next(cookie for cookie in page.context.cookies() if cookie["name"] == COOKIE_NAME)


def train_help(page, server):
    open_app(page, f"{server}/?{urlencode(HELP)}")
    train_to_the_end(page)
    return chart_traces(page)


def test_a_reload_keeps_the_model_and_the_curve_and_the_cookie_stays_hidden(server, page):
    curve = train_help(page, server)
    assert len(curve[0]["x"]) == 60
    cookie = owner_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and len(cookie["value"]) == 32
    assert cookie["expires"] > time.time() + 300 * 86400
    reloaded = time.perf_counter()
    page.reload()
    assert wait_for(lambda: chart_traces(page) == curve, timeout=30)
    print(f"F5 to the restored chart: {time.perf_counter() - reloaded:.2f} s")
    button(page, "resume_button").wait_for(timeout=10_000)
    assert cookie["value"] not in page.content() and cookie["value"] not in page.url
    assert "document.cookie" not in page.content() and COOKIE_NAME not in page.evaluate("() => document.cookie")


def test_a_second_tab_of_the_same_browser_sees_the_same_runs_and_another_browser_none(server, browser):
    first = new_page(browser)
    curve = train_help(first, server)
    second_tab = first.context.new_page()
    open_app(second_tab, server)
    assert wait_for(lambda: chart_traces(second_tab) == curve, timeout=20)

    stranger = new_page(browser)
    open_app(stranger, server)
    assert chart_traces(stranger) == [] and button(stranger, "train_button").inner_text() == "Train"
    mine = owner_cookie(first)["value"]
    # a forged cookie: the right shape with another value, or the owner's value in another shape
    for forged in ("0" * 32, mine.upper(), mine + "00", "../" + mine):
        stranger.context.add_cookies([{"name": COOKIE_NAME, "value": forged, "url": server}])
        stranger.reload()
        button(stranger, "train_button").wait_for(timeout=30_000)
        wait_until_idle(stranger)
        assert chart_traces(stranger) == [], forged
    for page in (first, stranger):
        page.context.close()


def test_the_server_restarted_mid_run_brings_the_run_back_at_its_last_save(tmp_path, browser):
    port = free_port()
    page = new_page(browser)
    with streamlit_server(data_dir=tmp_path, port=port, with_process=True) as (url, process):
        open_app(page, f"{url}/?{urlencode(LONG)}")
        button(page, "train_button").click()
        button(page, "stop_button").wait_for(timeout=10_000)
        time.sleep(7)  # a save happens every 5 s while it trains
        stop(process)  # as a deployment restarts it: the run is saved on the way down
    with streamlit_server(data_dir=tmp_path, port=port) as url:
        page.reload()
        button(page, "resume_button").wait_for(timeout=30_000)
        assert wait_for(lambda: chart_points(page) > 3, timeout=20)  # one read of the chart: it is redrawn meanwhile
        assert "server restarted" in page.locator("[data-testid=stMain]").inner_text()
        saved = chart_points(page)
        button(page, "resume_button").click()
        assert wait_for(lambda: chart_points(page) > saved, timeout=30)  # Resume redraws the page: for a moment there is no chart
        button(page, "stop_button").click()
        button(page, "resume_button").wait_for(timeout=10_000)
    page.context.close()


def test_a_corrupt_store_is_set_aside_and_the_app_still_serves(tmp_path, browser):
    (tmp_path / FILE_NAME).write_bytes(b"not a database at all " * 200)
    with streamlit_server(data_dir=tmp_path) as url:
        page = new_page(browser)
        train_help(page, url)
        page.reload()
        assert wait_for(lambda: len(chart_traces(page)) > 0, timeout=30)
        page.context.close()
    assert any(path.name.startswith(FILE_NAME + ".broken-") for path in tmp_path.iterdir())


def test_a_first_visit_to_a_page_link_on_a_new_server_lists_exactly_the_apps_pages(browser):
    with streamlit_server() as url:
        page = new_page(browser)
        page.goto(url + "/generate")
        page.get_by_role("heading", name="Generate text").wait_for(timeout=30_000)
        wait_until_idle(page)
        links = page.locator("[data-testid=stSidebarNavLink]").all_inner_texts()
        assert [link.split("\n")[-1].strip() for link in links] == ["Train", "Generate", "Inspect", "Compare", "How it works", "Lessons", "Room"]
        page.context.close()


def test_the_first_point_comes_within_a_second_of_the_first_train_on_a_new_server(browser):
    with streamlit_server() as url:
        page = new_page(browser)
        open_app(page, url)
        set_number(page, "epochs", 1000)
        clicked = time.perf_counter()
        button(page, "train_button").click()
        assert wait_for(lambda: len(chart_traces(page)) > 0, timeout=30, interval=0.02)
        print(f"first point after the first Train on a new server: {time.perf_counter() - clicked:.2f} s")
        button(page, "stop_button").click()
        page.context.close()
