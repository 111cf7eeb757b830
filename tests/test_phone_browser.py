"""On a 390x844 phone the Train page reads without sideways scrolling: in Chromium, with a screenshot.

The screenshot goes to pytest's temporary folder; with PHONE_SCREENSHOT=1 it also replaces
assets/screenshots/phone.png, once every check has passed.
"""

import os
import shutil

from browser import ROOT, open_app, train_to_the_end

WIDTH, HEIGHT = 390, 844
# What the Train page must show on a phone, each within the screen's width
PARTS = {
    "text": ".st-key-text textarea",
    "Train button": ".st-key-train_button button",
    "progress bar": "[data-testid=stProgress]",
    "loss chart": ".st-key-loss_chart .js-plotly-plot",
    "sample": ".sample-text",
}


def train_on_a_phone(browser, url, screenshot):
    """Train a short run on a phone, check that nothing needs sideways scrolling, and screenshot the whole page."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        open_app(page, f"{url}/?preset=help!")  # its 300 epochs take seconds: the sample has learnt the word
        train_to_the_end(page)
        for name, selector in PARTS.items():
            part = page.locator(selector).filter(visible=True).first
            part.wait_for(timeout=30_000)
            box = part.bounding_box()
            assert box and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (name, box)
        widths = page.evaluate(
            """() => {
                const main = document.querySelector('[data-testid=stMain]');  // the page scrolls in here, not in the document
                const past = Array.from(main.querySelectorAll('*')).filter(element => {
                    const box = element.getBoundingClientRect();
                    return box.width > 0 && box.height > 0 && (box.left < -0.5 || box.right > window.innerWidth + 0.5);
                });
                const sample = document.querySelector('.sample-text');
                return {
                    document: document.documentElement.scrollWidth, window: window.innerWidth,
                    main: main.scrollWidth, mainVisible: main.clientWidth, height: main.scrollHeight,
                    sample: sample.scrollWidth, sampleVisible: sample.clientWidth,
                    past: past.slice(0, 5).map(element => element.outerHTML.slice(0, 120)),
                };
            }"""
        )
        assert widths["window"] == WIDTH
        assert widths["document"] <= widths["window"], widths
        assert widths["main"] <= widths["mainVisible"], widths
        assert widths["sample"] <= widths["sampleVisible"], widths  # the sample wraps
        assert widths["past"] == [], widths  # nothing on the page reaches past the screen's edges
        # the whole page in one picture: as tall as its content, as wide as the phone
        page.set_viewport_size({"width": WIDTH, "height": widths["height"]})
        page.mouse.move(1, 1)
        page.locator(".sample-text").first.wait_for()
        page.screenshot(path=screenshot)
    finally:
        context.close()


def test_the_train_page_reads_on_a_phone_without_sideways_scrolling(server, browser, tmp_path):
    screenshot = tmp_path / "phone.png"
    train_on_a_phone(browser, server, screenshot)
    header = screenshot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(header[16:20], "big") == 2 * WIDTH  # 390 CSS pixels, twice as sharp
    if os.environ.get("PHONE_SCREENSHOT") == "1":
        shutil.copyfile(screenshot, ROOT / "assets" / "screenshots" / "phone.png")
