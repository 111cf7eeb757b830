"""The char-RNN playground: train a character-level RNN live, generate text, look inside.

`streamlit run streamlit_app.py` finds `app` below and serves it: Streamlit's ASGI entry, with a
middleware that gives each browser an owner id (playground.owner) and a lifespan that starts the
training service with the server. The same file is the app's script: each page run builds the
navigation below.
"""

import os

# One BLAS thread per training worker, set before numpy loads: the browser, the server and other
# sessions share the cores, and a second BLAS thread then costs more in waiting than it gains.
# Set OPENBLAS_NUM_THREADS yourself to override.
for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import asyncio  # noqa: E402
import contextlib  # noqa: E402
from pathlib import Path  # noqa: E402

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402
from streamlit.runtime.scriptrunner import get_script_run_ctx  # noqa: E402

from playground.owner import OwnerCookieMiddleware  # noqa: E402
from playground.ui import common, rooms  # noqa: E402
from playground.ui import lessons as lesson_ui  # noqa: E402


@contextlib.asynccontextmanager
async def lifespan(app):
    """Start the training service (and warm its workers) with the server; save every run when it stops."""
    # Until a session has run st.navigation, Streamlit treats a pages/ folder as the old kind of
    # multipage app: a first visit to /generate on a fresh server ran that page without this script
    # and listed every file in pages/ as a page. This app always navigates with st.navigation.
    PagesManager.uses_pages_directory = False
    service = await asyncio.to_thread(common.service)
    yield
    await asyncio.to_thread(service.shutdown)


# A picture, not an emoji or an icon name: those the browser draws from its fonts or fetches from Google's
FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"
app = st.App(__file__, lifespan=lifespan, middleware=[Middleware(OwnerCookieMiddleware)])


def main():
    # On the big screen the sidebar starts closed: at 1280x720 it would take a quarter of the width.
    st.set_page_config(page_title="char-rnn playground", page_icon=str(FAVICON), layout="wide", initial_sidebar_state="collapsed" if common.presenting() else "auto")
    if common.presenting():
        st.html(common.BIG_SCREEN_CSS)
    common.collapse_sidebar_on_narrow_screens()
    common.readable_on_every_page()
    train_page = st.Page("pages/train.py", title="Train", icon=":material/model_training:", default=True)
    pages = [
        train_page,
        st.Page("pages/generate.py", title="Generate", icon=":material/edit_note:"),
        st.Page("pages/look_inside.py", title="Inspect", icon=":material/biotech:", url_path="inspect"),  # not inspect.py: that is a standard module
        st.Page("pages/compare.py", title="Compare", icon=":material/stacked_line_chart:"),
        st.Page("pages/how_it_works.py", title="How it works", icon=":material/functions:"),
        lessons_page := st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
        st.Page("pages/room.py", title="Room", icon=":material/groups:", url_path="room"),
    ]
    page = st.navigation(pages)
    lesson_ui.open_from_link(st.empty())
    lesson_ui.go_where_set_up()
    panel_shown = page.url_path != lessons_page.url_path and lesson_ui.lesson_panel()
    if page.url_path != train_page.url_path:
        common.training_status_sidebar()
    rooms.join_control()
    common.collect_garbage_now_and_then()  # before the page: a page's run can end early (Stop, st.rerun)
    before = lesson_ui.what_the_page_did()
    page.run()
    if panel_shown and lesson_ui.what_the_page_did() != before:
        st.rerun()  # the panel, drawn before the page, checks again what the page has just done


if get_script_run_ctx() is not None:  # run as the app's script (uvicorn imports this file as a module too)
    main()
