"""Screenshots of every page for the README: python tests/screenshots.py (writes assets/screenshots/)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser import ROOT, button, chromium, streamlit_server, wait_until_idle  # noqa: E402

OUT = ROOT / "assets" / "screenshots"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with streamlit_server() as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        button(page, "train_button").wait_for(timeout=30_000)
        wait_until_idle(page)
        button(page, "train_button").click()
        button(page, "resume_button").wait_for(timeout=120_000)
        wait_until_idle(page)
        page.screenshot(path=OUT / "train.png", full_page=True)
        for name, title in (("generate", "Generate"), ("inspect", "Inspect"), ("how_it_works", "How it works")):
            page.locator("[data-testid=stSidebarNavLink]").filter(has_text=title).click()
            wait_until_idle(page)
            if name == "generate":
                field = page.locator(".st-key-prime input")
                field.fill("This is the ")
                field.press("Enter")
                wait_until_idle(page)
                button(page, "generate_button").click()
                wait_until_idle(page)
            if name == "how_it_works":
                button(page, "bptt_memory_button").click()
                wait_until_idle(page)
            page.wait_for_timeout(500)
            page.screenshot(path=OUT / f"{name}.png", full_page=True)
        print(f"wrote {len(list(OUT.glob('*.png')))} screenshots to {OUT}")


if __name__ == "__main__":
    main()
