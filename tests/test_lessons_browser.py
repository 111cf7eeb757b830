"""Every lesson, end to end in Chromium, as a learner follows it: Set it up, do what the step
says (Train, Generate, Step mode, Compare), and see the app tick the step off."""

import pytest

from browser import button, new_page, open_app, wait_for, wait_until_idle
from playground.lessons import load_lessons

LESSONS, _ = load_lessons()
TRAINING_CHECKS = {"loss_below", "stays_above", "diverged", "validation_turns_up", "beats_baseline"}


def check_text(page):
    box = page.locator(".st-key-panel_check").filter(visible=True)
    return box.first.inner_text() if box.count() else ""


def has_model(page):
    return button(page, "resume_button").count() > 0


def do_step(page, step):
    """What the step's "Do" says, after Set it up has taken the page there."""
    kind = step.check["kind"]
    if kind in TRAINING_CHECKS:
        retrain = has_model(page)
        button(page, "train_button").click()
        if retrain:
            button(page, "confirm_button").click()
            page.locator(".st-key-confirm_button").wait_for(state="detached", timeout=30_000)
        button(page, "resume_button").wait_for(timeout=90_000)
        wait_until_idle(page)
    elif kind == "generated":
        button(page, "generate_button").click()
        wait_until_idle(page)
    elif kind == "stepped":
        page.locator(".st-key-step_mode label").click()
        wait_until_idle(page)
        button(page, "step_button").click()
        wait_until_idle(page)
        page.locator("[data-testid=stPlotlyChart]").last.wait_for(timeout=20_000)


@pytest.mark.parametrize("key", list(LESSONS))
def test_a_learner_follows_the_lesson_to_its_last_tick(server, browser, key):
    lesson = LESSONS[key]
    page = new_page(browser)
    open_app(page, server)
    page.goto(f"{server}/lessons")
    button(page, f"lesson_start_{key}").click()
    wait_until_idle(page)
    button(page, "page_set_up").click()  # from the Lessons page to the first step's page; the panel follows
    wait_until_idle(page)
    for number, step in enumerate(lesson.steps, 1):
        if number > 1:
            button(page, "panel_next").click()
            wait_until_idle(page)
            button(page, "panel_set_up").click()
            wait_until_idle(page)
        assert f"Step {number} of {len(lesson.steps)}" in page.locator(".st-key-lesson_panel").inner_text()
        do_step(page, step)
        assert wait_for(lambda: "done:" in check_text(page), timeout=60), f"step {number}: {check_text(page)}"
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Lessons").click()
    wait_until_idle(page)
    page.reload()  # a new session of the same browser: the lesson is open at its step, every step ticked
    page.locator(".st-key-lesson_step_box").wait_for(timeout=30_000)
    assert f"Step {len(lesson.steps)} of {len(lesson.steps)}" in page.locator(".st-key-lesson_step_box").inner_text()
    ticks = page.locator("[data-testid=stMarkdownContainer]").filter(has_text="1. ").first.inner_text()
    assert ticks.count("check_circle") == len(lesson.steps), ticks
    page.context.close()
