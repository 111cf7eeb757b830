"""Workshop features end to end in Chromium: presenter links give every attendee the same run; Compare."""

from urllib.parse import urlencode

from browser import chart_traces, last_sample, new_page, open_app, set_number, train_to_the_end, wait_for, wait_until_idle

PRESENTER = {
    "preset": "help!",
    "cell": "RNN",
    "hidden_size": 32,
    "seq_len": 4,
    "batch_size": 1,
    "optimizer": "Adagrad",
    "lr": 0.1,
    "epochs": 60,
    "val_fraction": 0.0,
    "seed": 7,
    "locked": "text,cell,hidden_size,seq_len,batch_size,optimizer,lr,val_fraction,seed",
}


def curve(page):
    """The loss chart's train curve: (xs, ys)."""
    train = chart_traces(page)[0]
    return train["x"], train["y"]


def test_two_attendees_of_one_presenter_link_get_the_same_run_bit_for_bit(server, browser):
    link = f"{server}/?{urlencode(PRESENTER)}"
    first, second = new_page(browser), new_page(browser)
    for page in (first, second):
        open_app(page, link)
        assert page.locator(".st-key-cell").count() == 0 and page.locator(".st-key-lr").count() == 0  # locked: hidden
        assert page.locator(".st-key-text").count() == 0 and page.locator(".st-key-preset").count() == 0
        assert page.locator(".st-key-epochs input").count() == 1  # not locked: the attendee may change it
        assert "Set by the presenter" in page.locator("[data-testid=stSidebar]").inner_text()
    for page in (first, second):
        train_to_the_end(page)
    assert len(curve(first)[0]) > 10
    assert curve(first) == curve(second)
    assert last_sample(first) == last_sample(second) and last_sample(first).startswith("h")

    # one attendee changes a setting the presenter left open and trains again: the other is untouched
    before = curve(second)
    set_number(first, "epochs", 80)
    train_to_the_end(first, from_scratch=True)
    assert curve(first)[0][-1] == 80
    assert curve(second) == before and second.locator(".st-key-epochs input").input_value() == "60"
    for page in (first, second):
        page.context.close()


def test_compare_overlays_two_runs(server, browser):
    page = new_page(browser)
    settings = {key: value for key, value in PRESENTER.items() if key not in ("locked", "seed")}
    open_app(page, f"{server}/?{urlencode(settings)}")
    train_to_the_end(page)
    set_number(page, "lr", 0.05)
    train_to_the_end(page, from_scratch=True)

    page.get_by_role("link", name="Compare").click()
    page.get_by_role("heading", name="Compare runs").wait_for(timeout=30_000)
    wait_until_idle(page)
    assert wait_for(lambda: len(chart_traces(page)) == 2)
    assert [trace["name"] for trace in chart_traces(page)] == ["RNN H=32 lr=0.1", "RNN H=32 lr=0.05"]
    assert "Highlighted: the settings that differ" in page.locator("[data-testid=stMain]").inner_text()
    page.context.close()
