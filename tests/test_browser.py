"""End to end in a real headless Chromium against `streamlit run` on a free loopback port."""

import re
import time

from browser import button, chart_points, last_sample, new_page, open_app, set_number, type_text, wait_for, wait_until_idle

TEXT = "the cat sat on the mat. the dog sat on the log. " * 25


def epoch_shown(page):
    text = page.locator("[data-testid=stProgress]").inner_text()
    return float(re.search(r"Epoch ([\d.]+)", text).group(1))


def test_train_live_stop_resume_then_generate(server, page):
    open_app(page, server)
    type_text(page, TEXT)
    set_number(page, "epochs", 2000)
    button(page, "train_button").click()

    # the curve gains points while training runs
    button(page, "stop_button").wait_for(timeout=10_000)
    assert wait_for(lambda: chart_points(page) > 0)
    first = chart_points(page)
    assert wait_for(lambda: chart_points(page) > first + 2)
    assert button(page, "stop_button").is_visible()

    # Stop answers quickly and nothing trains afterwards
    clicked = time.monotonic()
    button(page, "stop_button").click()
    button(page, "resume_button").wait_for(timeout=5_000)
    assert time.monotonic() - clicked < 2.0
    wait_until_idle(page)
    stopped_points, stopped_epoch = chart_points(page), epoch_shown(page)
    page.wait_for_timeout(1500)
    assert chart_points(page) == stopped_points and epoch_shown(page) == stopped_epoch

    # Resume continues the same curve
    button(page, "resume_button").click()
    button(page, "stop_button").wait_for(timeout=10_000)
    assert wait_for(lambda: chart_points(page) > stopped_points + 2)
    assert epoch_shown(page) > stopped_epoch
    button(page, "stop_button").click()
    button(page, "resume_button").wait_for(timeout=5_000)

    # Generate from the trained model
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Generate").click()
    prime = page.locator(".st-key-prime input")
    prime.wait_for(timeout=10_000)
    prime.fill("the ")
    prime.press("Enter")
    wait_until_idle(page)
    button(page, "generate_button").click()
    wait_until_idle(page)
    generated = page.locator(".sample-text").first.inner_text()
    assert generated.startswith("the ") and len(generated) > 100
    assert page.locator("[data-testid=stPlotlyChart]:not([data-testid=stExpander] *)").count() == 1  # next-character probabilities (the step chart is in its expander)

    # back on Train, the run is still there
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Train").click()
    button(page, "resume_button").wait_for(timeout=10_000)
    assert epoch_shown(page) >= stopped_epoch


def test_a_shared_link_opens_the_same_settings(server, page, browser):
    open_app(page, server + "/?cell=LSTM&hidden_size=64&epochs=7&preset=Counting+in+words")
    assert page.locator(".st-key-cell input").input_value() == "LSTM"
    assert page.locator(".st-key-hidden_size input").input_value() == "64"
    assert page.locator(".st-key-text textarea").input_value().startswith("one\ntwo\nthree")
    set_number(page, "seq_len", 32)

    page.locator("[data-testid=stExpander]").filter(has_text="Share these settings").click()
    link = page.locator("[data-testid=stExpander] [data-testid=stCode]").inner_text().strip()
    assert "seq_len=32" in link and "hidden_size=64" in link

    other = browser.new_context().new_page()
    open_app(other, link)
    assert other.locator(".st-key-cell input").input_value() == "LSTM"
    assert other.locator(".st-key-seq_len input").input_value() == "32"
    assert other.locator(".st-key-epochs input").input_value() == "7"
    assert other.locator(".st-key-text textarea").input_value().startswith("one\ntwo")
    other.context.close()


def test_bad_link_opens_with_defaults_and_says_so(server, page):
    open_app(page, server + "/?hidden_size=100000&cell=Transformer&foo=1")
    warning = page.locator("[data-testid=stAlert]").filter(has_text="ignored").inner_text()
    for key in ("hidden_size", "cell", "foo"):
        assert key in warning
    assert page.locator(".st-key-hidden_size input").input_value() == "128"


def test_the_app_makes_no_request_off_this_machine(server, page):
    outside = []
    page.context.route(re.compile(r"^(?!https?://127\.0\.0\.1|wss?://127\.0\.0\.1|data:|blob:).*"), lambda route: (outside.append(route.request.url), route.abort()))
    open_app(page, server)
    for name in ("Generate", "Inspect", "How it works", "Train"):
        page.locator("[data-testid=stSidebarNavLink]").filter(has_text=name).click()
        wait_until_idle(page)
    assert outside == []


def sidebar_epoch(page):
    text = page.locator("[data-testid=stSidebar]").inner_text()
    found = re.search(r"Training: epoch ([\d.]+)", text)
    return float(found.group(1)) if found else None


def test_training_goes_on_while_the_user_sits_on_another_page(server, page):
    open_app(page, server)
    set_number(page, "epochs", 3000)
    button(page, "train_button").click()
    button(page, "stop_button").wait_for(timeout=10_000)
    assert wait_for(lambda: chart_points(page) > 2)
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Generate").click()
    assert wait_for(lambda: sidebar_epoch(page) is not None, timeout=10)
    first = sidebar_epoch(page)
    assert wait_for(lambda: (sidebar_epoch(page) or 0) > first + 1, timeout=20)  # the sidebar follows the run
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Train").click()
    button(page, "stop_button").wait_for(timeout=10_000)
    assert epoch_shown(page) > first + 1
    button(page, "stop_button").click()
    button(page, "resume_button").wait_for(timeout=5_000)


def test_two_sessions_training_at_once_never_see_each_other(server, browser):
    pages = []
    for text in ("aaaa bbbb aaaa bbbb " * 30, "xyz xyz zyx zyx " * 40):
        page = new_page(browser)
        open_app(page, server)
        type_text(page, text)
        set_number(page, "epochs", 40)
        pages.append(page)
    for page in pages:
        button(page, "train_button").click()
    for page in pages:
        button(page, "resume_button").wait_for(timeout=60_000)
        wait_until_idle(page)
    samples = [last_sample(page) for page in pages]
    assert set(samples[0]) <= set("ab \n") and set(samples[1]) <= set("xyz \n"), samples
    assert pages[0].locator(".st-key-text textarea").input_value().startswith("aaaa")
    assert pages[1].locator(".st-key-text textarea").input_value().startswith("xyz")
    for page in pages:
        page.context.close()
