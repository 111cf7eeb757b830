"""Lessons in the app through AppTest: links to a step, Set it up, the panel's tick, progress kept."""

import re

from streamlit.testing.v1 import AppTest

from apptest_runs import current_run, owner_of, wait_for_run, wait_until
from conftest import ROOT
from playground import lessons
from playground.service import get_service
from playground.ui import lessons as lesson_ui

ENTRY = str(ROOT / "streamlit_app.py")


def app(query=None, owner=None):
    at = AppTest.from_file(ENTRY, default_timeout=60)
    if owner:
        at.session_state["owner_of_this_session"] = owner
    at.query_params.update(query or {})
    return at.run()


def plain(markdown):
    """Markdown as the reader sees it: without the escapes (playground.plain_text.escape_markdown)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def panel_text(at):
    return plain(" ".join(element.value for element in at.sidebar.get("markdown") + at.sidebar.get("caption") + at.sidebar.get("success")))


def test_a_link_opens_a_lesson_at_its_step_on_any_page_and_bad_ones_say_why():
    at = app({"lesson": "temperature", "step": "3"})
    assert not at.exception and not at.warning
    assert "Step 3 of 4: Hot: temperature 1.6" in panel_text(at) and at.button(key="panel_set_up")
    assert at.query_params["lesson"] == "temperature" and at.query_params["step"] == "3"
    unknown = app({"lesson": "<b>nope</b>"})
    assert "names a lesson this app does not have" in unknown.warning[0].value and "Lesson:" not in panel_text(unknown)
    assert "lesson" not in unknown.query_params
    wrong_step = app({"lesson": "temperature", "step": "99"})
    assert "has steps 1 to 4; the link's step `99`" in plain(wrong_step.warning[0].value) and "Step 1 of 4" in panel_text(wrong_step)
    assert not any("ignored" in warning.value for warning in wrong_step.warning)


def test_set_up_then_train_ticks_the_step_and_the_tick_is_kept_with_the_owners_runs():
    at = app()
    at.switch_page("pages/lessons.py").run()
    titles = [lesson.title for lesson in lesson_ui.all_lessons()[0].values()]
    assert [plain(element.value).split("**")[1] for element in at.markdown if element.value.startswith("**")] == titles
    at.button(key="lesson_start_learning-rate").click().run()
    at.button(key="page_set_up").click().run()  # to the Train page, set up for step 1 (learning rate 0.0001)
    assert at.session_state["lr"] == 0.0001 and at.session_state["epochs"] == 30 and at.session_state["preset"] == "rhyme"
    at.switch_page("pages/train.py").run()
    assert "Not yet" not in panel_text(at) and "Press Set it up, then Train." in panel_text(at)
    at.button(key="train_button").click().run()
    wait_for_run(at)
    assert wait_until(at, lambda: "done: after 30 epochs its best was" in panel_text(at)), panel_text(at)
    owner = owner_of(at).owner_id
    assert get_service().store.lesson_steps(owner)["learning-rate"][0].startswith("done: after 30 epochs")
    again = app({"lesson": "learning-rate", "step": "1"}, owner=owner)  # a reload: a new session of the same browser
    again.button(key="reset_button").click().run()  # the run that did it goes; the tick stays
    again.switch_page("pages/lessons.py").run()
    assert current_run(again) is None
    assert any(":material/check_circle: **1. Too small**" in plain(element.value) for element in again.markdown)
    assert "done: after 30 epochs" in plain(" ".join(element.value for element in again.get("success")))
    again.button(key="lesson_restart").click().run()
    assert "learning-rate" not in get_service().store.lesson_steps(owner)
    assert any(":material/radio_button_unchecked: **1. Too small**" in plain(element.value) for element in again.markdown)


def test_a_step_whose_run_differs_says_what_to_change():
    at = app({"lesson": "learning-rate", "step": "2"})
    at.button(key="panel_set_up").click().run()
    at.switch_page("pages/train.py").run()
    at.number_input(key="lr").set_value(0.01).run()
    at.button(key="train_button").click().run()
    wait_for_run(at)
    assert current_run(at).settings.lr == 0.01
    assert "Your current run has lr 0.01, this step 0.004: press Set it up, then Train." in panel_text(at)


def test_a_generate_step_sets_the_generate_options():
    at = app({"lesson": "temperature", "step": "4"})
    at.button(key="panel_set_up").click().run()
    assert at.session_state["greedy"] is True and at.session_state["length"] == 400 and at.session_state["prime"] == "T"


def test_a_broken_lesson_file_is_named_on_the_lessons_page_and_the_rest_still_open(tmp_path, monkeypatch):
    (tmp_path / "fine.json").write_text((lessons.LESSONS_DIR / "temperature.json").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "broken.json").write_text('{"title": "Broken", "steps": [{"title": "x"}]}', encoding="utf-8")
    monkeypatch.setattr(lesson_ui, "all_lessons", lambda: lessons.load_lessons(tmp_path))
    at = app()
    at.switch_page("pages/lessons.py").run()
    assert not at.exception
    assert "A lesson file could not be read, so it is left out: broken.json, step 1 has no 'explain' text" in plain(at.warning[0].value)
    at.button(key="lesson_start_fine").click().run()
    assert at.button(key="page_set_up")


def test_set_up_keeps_what_a_presenter_link_locked_and_the_step_says_what_differs():
    at = app({"lr": "0.01", "locked": "lr", "lesson": "learning-rate", "step": "1"})
    at.button(key="panel_set_up").click().run()
    at.switch_page("pages/train.py").run()
    at.button(key="train_button").click().run()
    run = wait_for_run(at)
    assert run.settings.lr == 0.01 and run.settings.epochs == 30  # the lock held; the step set the rest
    assert "Your current run has lr 0.01, this step 0.0001" in panel_text(at)


def test_the_panel_stays_on_a_page_that_waits_for_a_model_and_ticks_on_the_click_that_does_the_step():
    at = app({"lesson": "temperature", "step": "2"})
    at.switch_page("pages/generate.py").run()  # no model yet: the page asks for one, the panel stays
    assert "Train a model first" in panel_text(at) and at.button(key="panel_set_up")
    at.switch_page("pages/train.py").run()
    at.button(key="panel_previous").click().run()
    at.button(key="panel_set_up").click().run()
    at.switch_page("pages/train.py").run()
    at.button(key="train_button").click().run()
    wait_for_run(at)
    at.button(key="panel_next").click().run()
    at.button(key="panel_set_up").click().run()  # to Generate, at temperature 0.2
    at.switch_page("pages/generate.py").run()
    at.button(key="generate_button").click().run()
    assert "done:" in panel_text(at) and "copied word for word" in panel_text(at)
