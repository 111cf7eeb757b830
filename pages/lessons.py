"""Lessons: guided paths through the app, a step at a time, each ticked off when the app sees it done."""

from urllib.parse import urlencode

import streamlit as st

from playground.plain_text import escape_markdown
from playground.ui import lessons as lesson_ui


def lesson_list(progress):
    """Every lesson, with how many of its steps this browser has done."""
    st.caption("Each lesson sets up the text and settings of each step for you; you press Train (or Generate) and watch. The app ticks a step off when it sees it done.")
    for lesson in lesson_ui.all_lessons()[0].values():
        done = len(progress.get(lesson.key, {}))
        with st.container(border=True, key=f"lesson_card_{lesson.key}"):
            text_column, button_column = st.columns([5, 1], vertical_alignment="center")
            text_column.markdown(f"**{escape_markdown(lesson.title)}** · {done} of {len(lesson.steps)} steps done")
            text_column.caption(escape_markdown(lesson.about))
            if button_column.button("Open", key=f"lesson_start_{lesson.key}", width="stretch"):
                first_not_done = next((index for index in range(len(lesson.steps)) if index not in progress.get(lesson.key, {})), 0)
                lesson_ui.open_at(lesson.key, first_not_done)
                st.rerun()


def open_lesson_view(lesson, index, progress):
    """The open lesson: its steps ticked or not, the current one in full."""
    done = progress.get(lesson.key, {})
    st.header(lesson.title)
    st.markdown(escape_markdown(lesson.about))
    st.markdown("  \n".join(
        f"{':material/check_circle:' if number in done else ':material/radio_button_unchecked:'} "
        f"{'**' if number == index else ''}{number + 1}. {escape_markdown(step.title)}{'**' if number == index else ''}"
        for number, step in enumerate(lesson.steps)
    ))
    with st.container(border=True, key="lesson_step_box"):
        lesson_ui.show_step(lesson, index, "page")
    lesson_ui.step_buttons(lesson, index, "page")
    with st.expander("Share this step"):
        st.code(f"{st.context.url}?{urlencode({'lesson': lesson.key, 'step': index + 1})}", language=None, wrap_lines=True)
        st.caption("Whoever opens this link finds the lesson open at this step: put a whole room on the same step.")
    if done and st.button("Start this lesson again", key="lesson_restart", help="Forget which of its steps you have done; your runs stay."):
        lesson_ui.restart(lesson.key)
        lesson_ui.open_at(lesson.key, 0)
        st.rerun()


st.title("Lessons")
lessons, problems = lesson_ui.all_lessons()
for problem in problems:
    st.warning(f"A lesson file could not be read, so it is left out: {escape_markdown(problem)}")
progress = lesson_ui.progress()
lesson, index = lesson_ui.open_lesson()
if lesson is None:
    lesson_list(progress)
else:
    open_lesson_view(lesson, index, progress)
