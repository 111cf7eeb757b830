"""The char-RNN playground: train a character-level RNN live, generate text, look inside."""

import os

# One BLAS thread per training session, set before numpy loads: the browser, the server and other
# sessions share the cores, and a second BLAS thread then costs more in waiting than it gains.
# Set OPENBLAS_NUM_THREADS yourself to override.
for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import streamlit as st  # noqa: E402

from playground.ui.common import BIG_SCREEN_CSS, collapse_sidebar_on_narrow_screens, collect_garbage_now_and_then, presenting, training_status_sidebar  # noqa: E402

# On the big screen the sidebar starts closed: at 1280x720 it would take a quarter of the width.
st.set_page_config(page_title="char-rnn playground", page_icon="🔤", layout="wide", initial_sidebar_state="collapsed" if presenting() else "auto")
if presenting():
    st.html(BIG_SCREEN_CSS)
collapse_sidebar_on_narrow_screens()

train_page = st.Page("pages/train.py", title="Train", icon="🏋️", default=True)
pages = [
    train_page,
    st.Page("pages/generate.py", title="Generate", icon="✍️"),
    st.Page("pages/look_inside.py", title="Inspect", icon="🔬", url_path="inspect"),  # not inspect.py: that is a standard module
    st.Page("pages/compare.py", title="Compare", icon="📊"),
    st.Page("pages/how_it_works.py", title="How it works", icon="📐"),
]
page = st.navigation(pages)
if page.url_path != train_page.url_path:
    training_status_sidebar()
collect_garbage_now_and_then()  # before the page: a page's run can end early (Stop, st.rerun)
page.run()
