"""The char-RNN playground: train a character-level RNN live, generate text, look inside."""

import os

# One BLAS thread per training session, set before numpy loads: the browser, the server and other
# sessions share the cores, and a second BLAS thread then costs more in waiting than it gains.
# Set OPENBLAS_NUM_THREADS yourself to override.
for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import streamlit as st  # noqa: E402

from pages.common import collect_garbage_now_and_then, training_status_sidebar  # noqa: E402

st.set_page_config(page_title="char-rnn playground", page_icon="🔤", layout="wide")

train_page = st.Page("pages/train.py", title="Train", icon="🏋️", default=True)
pages = [
    train_page,
    st.Page("pages/generate.py", title="Generate", icon="✍️"),
    st.Page("pages/inspect.py", title="Inspect", icon="🔬"),
    st.Page("pages/compare.py", title="Compare", icon="📊"),
    st.Page("pages/how_it_works.py", title="How it works", icon="📐"),
]
page = st.navigation(pages)
if page.url_path != train_page.url_path:
    training_status_sidebar()
collect_garbage_now_and_then()  # before the page: a page's run can end early (Stop, st.rerun)
page.run()
