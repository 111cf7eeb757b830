"""Screenshots of every page and workshop feature for the README: python tests/screenshots.py (writes assets/screenshots/)."""

import sys
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser import ROOT, button, chromium, generate, new_page, open_app, set_number, streamlit_server, train_to_the_end, wait_until_idle  # noqa: E402
from test_phone_browser import train_on_a_phone  # noqa: E402

OUT = ROOT / "assets" / "screenshots"
HELP = {"preset": "help!", "cell": "RNN", "hidden_size": 32, "seq_len": 4, "batch_size": 1, "optimizer": "Adagrad", "lr": 0.1, "epochs": 60, "val_fraction": 0.0}


def open_page(browser, url, width=1400, height=900):
    page = new_page(browser, width, height)
    open_app(page, url)
    return page


def settle(page):
    """Wait for the page, and move the mouse off any button so no tooltip shows."""
    wait_until_idle(page)
    page.mouse.move(1, 1)
    page.wait_for_timeout(700)


def workshop(browser, url):
    """Compare after a one-click comparison, Step mode, a presenter link and the big-screen view."""
    page = open_page(browser, url)
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Compare").click()
    wait_until_idle(page)
    button(page, "comparison_cells").click()
    page.locator(".js-plotly-plot").wait_for(timeout=120_000)
    settle(page)
    page.screenshot(path=OUT / "compare.png", full_page=True)

    page = open_page(browser, f"{url}/?{urlencode({**HELP, 'cell': 'RNN', 'hidden_size': 64, 'preset': 'Alphabet', 'seq_len': 24})}")
    page.locator(".st-key-step_mode label").click()
    wait_until_idle(page)
    for _ in range(3):
        button(page, "step_button").click()
        settle(page)
    page.screenshot(path=OUT / "step.png", full_page=True)

    locked = {**HELP, "seed": 7, "locked": "text,cell,hidden_size,lr,seed"}
    page = open_page(browser, f"{url}/?{urlencode(locked)}")
    train_to_the_end(page, timeout=120_000)
    settle(page)
    page.screenshot(path=OUT / "presenter.png", full_page=True)

    page = open_page(browser, f"{url}/?{urlencode({'present': 'true', 'epochs': 40})}", width=1280, height=720)
    # the sidebar starts closed on the big screen
    train_to_the_end(page, timeout=120_000)
    settle(page)
    page.screenshot(path=OUT / "big_screen.png")


def what_it_learnt(browser, url):
    """The views of what a network has learnt: baselines, the softmax in numbers, copied stretches, attribution, maps."""
    memorising = {"hidden_size": 256, "epochs": 150, "lr_schedule": "Cosine decay", "warmup": 20, "val_fraction": 0.2}
    page = open_page(browser, f"{url}/?{urlencode(memorising)}")
    train_to_the_end(page, timeout=180_000)
    settle(page)
    page.locator(".js-plotly-plot").first.screenshot(path=OUT / "baselines.png")
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Generate").click()
    wait_until_idle(page)
    generate(page, "Twinkle")
    page.get_by_text("Step through it: the softmax in numbers").click()
    page.locator(".st-key-step_position").wait_for(timeout=10_000)
    settle(page)
    page.locator("[data-testid=stExpander]").filter(has_text="Step through it").first.screenshot(path=OUT / "softmax.png")
    page.locator(".sample-text").first.screenshot(path=OUT / "copied.png")
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Inspect").click()
    page.locator(".attribution").wait_for(timeout=30_000)
    settle(page)
    page.locator(".attribution").screenshot(path=OUT / "looks_back.png")
    page.locator("[data-testid=stHorizontalBlock]").filter(has=page.locator(".st-key-embedding_map")).screenshot(path=OUT / "maps.png")


def lessons_and_rooms(browser, url):
    """The Lessons page, a lesson's panel beside the Train page, the gradient check, a room's board and the phone view."""
    page = new_page(browser, 1400, 900)
    page.goto(f"{url}/lessons")
    page.locator(".st-key-lesson_start_temperature").wait_for(timeout=30_000)
    settle(page)
    page.screenshot(path=OUT / "lessons.png", full_page=True)
    button(page, "lesson_start_temperature").click()
    wait_until_idle(page)
    button(page, "page_set_up").click()
    wait_until_idle(page)
    train_to_the_end(page, timeout=120_000)
    page.locator(".st-key-panel_check").get_by_text("done:").wait_for(timeout=30_000)
    settle(page)
    page.screenshot(path=OUT / "lesson_panel.png")

    presenter = open_page(browser, f"{url}/?{urlencode({'preset': 'The house that Jack built'})}")
    presenter.get_by_text("Share these settings").click()
    button(presenter, "start_room_button").click()
    wait_until_idle(presenter)
    link = presenter.locator("[data-testid=stCode]").filter(has_text="room=").inner_text().strip()
    code = link.split("room=")[1][:6]
    for nickname, epochs in (("Ada", 5), ("Grace", 30), ("Linus", 15)):
        attendee = open_page(browser, link)
        attendee.locator(".st-key-room_nickname input").fill(nickname)
        button(attendee, "join_room_button").click()
        wait_until_idle(attendee)
        set_number(attendee, "epochs", epochs)
        train_to_the_end(attendee, timeout=120_000)
    screen = new_page(browser, 1280, 720)
    screen.goto(f"{url}/room?room={code}&present=true")
    screen.locator("[data-testid=stDataFrame]").wait_for(timeout=30_000)
    screen.wait_for_timeout(3000)  # the board's next redraw, with every run's last save
    settle(screen)
    screen.screenshot(path=OUT / "room.png")

    helper = open_page(browser, f"{url}/?{urlencode(HELP)}")  # the notebook's own cell, so its rule is checked too
    train_to_the_end(helper, timeout=120_000)
    helper.locator("[data-testid=stSidebarNavLink]").filter(has_text="How it works").click()
    wait_until_idle(helper)
    button(helper, "check_gradients_button").click()
    helper.locator(".st-key-gradient_table").wait_for(timeout=30_000)
    settle(helper)
    helper.locator(".st-key-gradient_table").screenshot(path=OUT / "gradients.png")

    train_on_a_phone(browser, url, OUT / "phone.png")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with streamlit_server() as url, chromium() as browser:
        page = open_page(browser, url)
        train_to_the_end(page, timeout=120_000)
        page.screenshot(path=OUT / "train.png", full_page=True)
        for name, title in (("generate", "Generate"), ("inspect", "Inspect"), ("how_it_works", "How it works")):
            page.locator("[data-testid=stSidebarNavLink]").filter(has_text=title).click()
            wait_until_idle(page)
            if name == "generate":
                generate(page, "This is the ")
            if name == "how_it_works":
                button(page, "bptt_memory_button").click()
                wait_until_idle(page)
            settle(page)
            page.screenshot(path=OUT / f"{name}.png", full_page=True)
        workshop(browser, url)
        what_it_learnt(browser, url)
        lessons_and_rooms(browser, url)
        print(f"wrote {len(list(OUT.glob('*.png')))} screenshots to {OUT}")


if __name__ == "__main__":
    main()
