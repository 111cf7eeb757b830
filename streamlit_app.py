"""The char-RNN playground: train a character-level RNN live, generate text, look inside."""

import streamlit as st

from pages.common import training_status_sidebar

st.set_page_config(page_title="char-rnn playground", page_icon="🔤", layout="wide")

train_page = st.Page("pages/train.py", title="Train", icon="🏋️", default=True)
pages = [
    train_page,
    st.Page("pages/generate.py", title="Generate", icon="✍️"),
    st.Page("pages/inspect.py", title="Inspect", icon="🔬"),
    st.Page("pages/how_it_works.py", title="How it works", icon="📐"),
]
page = st.navigation(pages)
if page.url_path != train_page.url_path:
    training_status_sidebar()
page.run()
