"""A workshop room end to end in Chromium: a presenter starts it, three attendees join and train, the big screen's board shows them."""

import re
from urllib.parse import urlencode

from browser import button, new_page, open_app, set_number, train_to_the_end, wait_for, wait_until_idle

HELP = {"preset": "help!", "seed": 3}
ATTENDEES = [("Ada", 20), ("Grace", 200), ("Linus", 60)]  # nickname, epochs: more epochs of help!, a lower loss


def metrics(page):
    """{label: value} of the metrics on the page."""
    found = {}
    for metric in page.locator("[data-testid=stMetric]").all():
        label = metric.locator("[data-testid=stMetricLabel]").inner_text().strip()
        found[label] = metric.locator("[data-testid=stMetricValue]").inner_text().strip()
    return found


def board_nicknames(page):
    """The board table's nickname column, top to bottom, as the grid shows it to assistive technology."""
    cells = page.locator("[data-testid=stDataFrame] table[role=grid] tbody tr").all()
    return [row.locator("td").nth(1).inner_text().strip() for row in cells]


def test_three_attendees_and_a_presenter_in_one_room(server, browser):
    presenter = new_page(browser)
    open_app(presenter, f"{server}/?{urlencode(HELP)}")
    presenter.get_by_text("Share these settings").click()
    button(presenter, "start_room_button").click()
    wait_until_idle(presenter)
    link = presenter.locator("[data-testid=stCode]").filter(has_text="room=").inner_text().strip()
    code = re.search(r"room=([A-Z0-9]{6})", link).group(1)
    assert presenter.get_by_role("link", name="Open the board").first.get_attribute("href").endswith(f"room?room={code}&present=true")

    attendees = []
    for nickname, epochs in ATTENDEES:
        page = new_page(browser)
        open_app(page, link)
        box = page.locator(".st-key-room_box")
        assert f"Join room {code}" in box.inner_text()
        box.locator(".st-key-room_nickname input").fill(nickname)
        button(page, "join_room_button").click()
        box.get_by_text(f"You are in room {code} as {nickname}").wait_for(timeout=30_000)
        set_number(page, "epochs", epochs)
        attendees.append(page)
    for page in attendees:
        train_to_the_end(page)

    screen = new_page(browser, 1280, 720)  # the big screen
    screen.goto(f"{server}/room?room={code}&present=true")
    screen.get_by_role("heading", name=f"Room {code}").wait_for(timeout=30_000)
    assert wait_for(lambda: metrics(screen) == {"In the room": "3", "Trained": "3"}, timeout=30)
    assert wait_for(lambda: board_nicknames(screen) == ["Grace", "Linus", "Ada"], timeout=30)
    best_sample = screen.locator("[data-testid=stCode]").inner_text()
    for part in (screen.locator("[data-testid=stDataFrame]"), screen.locator("[data-testid=stCode]"), screen.get_by_role("heading", name=f"Room {code}")):
        box = part.bounding_box()  # all of it on the big screen, nothing to scroll to
        assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 720
    assert "Best run: Grace" in screen.locator("[data-testid=stMain]").inner_text()
    assert best_sample.startswith("h")  # help!, as the best run writes it
    for page in (presenter, screen, *attendees):
        page.context.close()
