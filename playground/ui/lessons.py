"""Lessons in the app: the open lesson's panel in the sidebar, Set it up, and progress in the run store.

The open lesson and step live in the session and in the address bar (`lesson`, `step`, 1-based),
so a reload, or a presenter's link, opens the lesson at that step. A step once done stays done:
it is written to the run store with the owner's runs, with what its check saw.
"""

import functools

import streamlit as st

from playground import lessons
from playground.plain_text import code_span, escape_markdown
from playground.presets import CUSTOM
from playground.state import SETTING_NAMES
from playground.ui import common

PANEL_EVERY_SECONDS = 2.0
PAGE_SCRIPTS = {"train": common.TRAIN_PAGE, "generate": "pages/generate.py", "compare": "pages/compare.py"}
LESSONS_PAGE = "pages/lessons.py"


@functools.cache  # read once per server process: lessons are files shipped with the app
def all_lessons():
    """({key: Lesson}, [problems]) of the lesson files."""
    return lessons.load_lessons()


def open_lesson():
    """(Lesson, step index) of the lesson open in this session, or (None, None)."""
    key, index = st.session_state.get("lesson_open"), st.session_state.get("lesson_step", 0)
    lesson = all_lessons()[0].get(key)
    if lesson is None:
        return None, None
    return lesson, min(max(index, 0), len(lesson.steps) - 1)


def open_at(key, index):
    """Open lesson `key` at step `index` (0-based) in this session, and say so in the address bar."""
    st.session_state["lesson_open"], st.session_state["lesson_step"] = key, index
    st.query_params["lesson"], st.query_params["step"] = key, str(index + 1)


def close():
    for name in ("lesson_open", "lesson_step"):
        st.session_state.pop(name, None)
    for name in ("lesson", "step"):
        if name in st.query_params:
            del st.query_params[name]


def open_from_link(notice):
    """On a session's first run, open the lesson a link names (`?lesson=...&step=...`); say what was wrong with it."""
    if st.session_state.get("lesson_link_read"):
        if st.session_state.get("lesson_open"):  # keep it in the address bar on every page, for a reload
            lesson, index = open_lesson()
            if lesson is not None:
                st.query_params["lesson"], st.query_params["step"] = lesson.key, str(index + 1)
        return
    st.session_state["lesson_link_read"] = True
    key = st.query_params.get("lesson")
    if key is None:
        return
    lesson = all_lessons()[0].get(key)
    if lesson is None:
        notice.warning(f"The link names a lesson this app does not have ({code_span(key[:40])}): pick one on the Lessons page.")
        close()
        return
    raw_step = st.query_params.get("step", "1")
    try:
        index = int(raw_step) - 1
    except ValueError:
        index = -1
    if not 0 <= index < len(lesson.steps):
        notice.warning(f"{lesson.title} has steps 1 to {len(lesson.steps)}; the link's step {code_span(raw_step[:20])} is not one of them, so it opens at step 1.")
        index = 0
    open_at(key, index)


def progress():
    """{lesson key: {step index: note}} of this browser's done steps."""
    return common.service().store.lesson_steps(common.owner_id())


def evidence():
    """lessons.Evidence of this browser: its runs, this session's generated texts and Step mode."""
    run = common.current_run()
    kept = [lessons.facts_from_record(record) for record in common.kept_runs()]
    details = st.session_state.get("step_details")
    return lessons.Evidence(
        current=None if run is None else lessons.facts_from_run(run),
        kept=[facts for facts in kept if facts is not None],
        generations=list(st.session_state.get("generations", [])),
        stepped=run is not None and details is not None and details[0] == run.run_id,
    )


def set_up(step):
    """Give the step's page the step's text, settings or options, as a presenter link would.

    A button's callback: it runs before any widget of the page it sets, and `go_where_set_up`
    then takes the session to that page. Settings the step does not name go back to their defaults
    (a preset's own settings first), so every attendee who presses it gets the same run; a
    presenter's locks still hold.
    """
    if step.page == "train":
        locked = st.session_state.get("locked", ({}, False, []))
        wanted = step.full_settings()
        for name in SETTING_NAMES:
            if name not in locked[0]:
                st.session_state[name] = getattr(wanted, name)
        if not locked[1]:
            st.session_state["preset"] = step.preset or CUSTOM
            st.session_state["preset_applied"] = step.preset or CUSTOM
            st.session_state["text"] = step.text
            st.session_state["text_notice"] = None
        st.session_state["confirm_discard"] = False
    elif step.page == "generate":
        for name, value in step.options.items():
            st.session_state[name] = value
    st.session_state["lesson_go_to"] = step.page


def go_where_set_up():
    """After Set it up, to the step's page (call it before the page runs)."""
    page = st.session_state.pop("lesson_go_to", None)
    lesson, index = open_lesson()
    if page is not None and lesson is not None:
        # only the lesson's own parameters: those bound to widgets are the widgets' to write
        st.switch_page(PAGE_SCRIPTS[page], query_params={"lesson": lesson.key, "step": str(index + 1)})


def check_and_record(lesson, index):
    """The Outcome of the step's check now; a step done once is written to the store and stays done."""
    done = progress().get(lesson.key, {})
    outcome = lessons.check_step(lesson.steps[index], evidence())
    if outcome.done and outcome.note != done.get(index):
        common.service().store.finish_step(common.owner_id(), lesson.key, index, outcome.note)
        return outcome
    if index in done:
        return lessons.Outcome(True, done[index])
    return outcome


def show_step(lesson, index, where):
    """A step: what to look at, Set it up, what to do, and its check; `where` is a key prefix."""
    step = lesson.steps[index]
    st.markdown(f"**Step {index + 1} of {len(lesson.steps)}: {escape_markdown(step.title)}**")
    st.markdown(escape_markdown(step.explain))
    st.button("Set it up", key=f"{where}_set_up", type="primary", on_click=set_up, args=(step,), help="Puts this step's text and settings on its page, as a presenter link would.")
    st.markdown(f"*Do:* {escape_markdown(step.do)}")
    st.fragment(_step_check, run_every=common.service().watch_interval(PANEL_EVERY_SECONDS) if _training() else None)(lesson, index, where)


def _training():
    run = common.current_run()
    return run is not None and run.training


def _step_check(lesson, index, where):
    outcome = check_and_record(lesson, index)
    with st.container(key=f"{where}_check"):
        if outcome.done:
            st.success(escape_markdown(outcome.note), icon=":material/check_circle:")
        else:
            st.caption(escape_markdown(outcome.note))
    if st.session_state.get(f"{where}_was_training") not in (None, _training()):
        st.session_state[f"{where}_was_training"] = _training()
        st.rerun()  # training began or ended: the timer starts or stops
    st.session_state[f"{where}_was_training"] = _training()


def step_buttons(lesson, index, where):
    """Back, Next and Close."""
    previous, following, close_column = st.columns(3)
    previous.button("Back", key=f"{where}_previous", disabled=index == 0, width="stretch", on_click=open_at, args=(lesson.key, index - 1))
    following.button("Next", key=f"{where}_next", disabled=index == len(lesson.steps) - 1, width="stretch", on_click=open_at, args=(lesson.key, index + 1))
    close_column.button("Close", key=f"{where}_close", width="stretch", on_click=close, help="Close the lesson; its progress is kept.")


def lesson_panel():
    """On every page but Lessons, while a lesson is open: its step in the sidebar. Returns whether it drew one."""
    lesson, index = open_lesson()
    if lesson is None:
        return False
    with st.sidebar.container(key="lesson_panel", border=True):
        st.caption(f"Lesson: {escape_markdown(lesson.title)}")
        show_step(lesson, index, "panel")
        step_buttons(lesson, index, "panel")
    return True


def what_the_page_did():
    """What a page can do in one run that a step's check reads: texts generated, a step of Step mode."""
    details = st.session_state.get("step_details")
    return len(st.session_state.get("generations", [])), None if details is None else details[1:3]


def restart(key):
    """Forget which steps of lesson `key` this browser has done."""
    common.service().store.restart_lesson(common.owner_id(), key)
