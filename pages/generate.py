"""Generate: text from a seed of your choosing, and the model's next-character probabilities."""

import time

import plotly.graph_objects as go
import streamlit as st

from playground.ui import common
from playground.limits import Caps
from playground.plain_text import char_name, escape_markdown, escape_plotly
from rnn_core import next_char_probs, sample_stream

MAX_LENGTH = Caps.from_environment().generate_length
REDRAW_SECONDS = 0.03


def probability_chart(probs, vocab, count=20):
    """Bar chart of the `count` most likely next characters."""
    order = probs.argsort()[::-1][:count]
    figure = go.Figure(go.Bar(x=[escape_plotly(char_name(vocab.chars[i])) for i in order], y=probs[order].tolist(), marker_color="#d9480f"))
    figure.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), yaxis_title="probability", xaxis_type="category", yaxis_range=[0, 1])
    return figure


def options():
    """The sampling widgets, bound to the link. Returns a dict."""
    left, right = st.columns(2)
    chosen = {
        "prime": left.text_input("Seed text", value="", key="prime", bind="query-params", persist_state="session", help="Fed through the network before it writes."),
        "length": left.number_input("Length", 1, MAX_LENGTH, 300, 50, key="length", bind="query-params", persist_state="session"),
        "seed": left.number_input("Random seed", 0, 2**31 - 1, 0, 1, key="sample_seed", bind="query-params", persist_state="session", help="The same seed gives the same text."),
        "temperature": right.slider(
            "Temperature", 0.05, 2.0, 0.8, 0.05, key="temperature", bind="query-params", persist_state="session", help="Below 1: safer, more repetitive. Above 1: wilder."
        ),
        "top_k": right.number_input("Top-k (0: off)", 0, 500, 0, 1, key="top_k", bind="query-params", persist_state="session", help="Draw only from the k most likely characters."),
        "top_p": right.slider(
            "Top-p", 0.05, 1.0, 1.0, 0.05, key="top_p", bind="query-params", persist_state="session", help="Draw only from the most likely characters that together hold this probability."
        ),
        "greedy": right.toggle("Greedy (always the most likely)", key="greedy", bind="query-params", persist_state="session"),
    }
    return chosen


def generate(source, chosen):
    """Stream the generated text into the page; remember it for later reruns."""
    placeholder = st.empty()
    shaping = dict(temperature=chosen["temperature"], top_k=chosen["top_k"] or None, top_p=chosen["top_p"], greedy=chosen["greedy"], seed=chosen["seed"])
    text, last_draw = chosen["prime"], 0.0
    with source.lock:  # the model at this moment: training swaps in new copies, and never changes this one
        model = source.model
    for char in sample_stream(model, source.vocab, chosen["prime"], chosen["length"], **shaping):
        text += char
        if time.perf_counter() - last_draw > REDRAW_SECONDS:
            placeholder.code(text, language=None, wrap_lines=True)
            last_draw = time.perf_counter()
    placeholder.code(text, language=None, wrap_lines=True)
    st.session_state["generated"] = text


BOUND_KEYS = {"prime", "length", "sample_seed", "temperature", "top_k", "top_p", "greedy"}

raw_params = common.link_parameters(number_keys=("length", "sample_seed", "temperature", "top_k", "top_p"))
st.title("Generate text")
link_notice = st.empty()
source = common.require_model("upload_model_generate")
chosen = options()
common.report_ignored_link_values(raw_params, BOUND_KEYS, link_notice)
common.stop_on_unknown_characters(source.vocab, chosen["prime"])

text_column, chart_column = st.columns([3, 2], gap="large")
with chart_column:
    if chosen["prime"]:
        st.markdown(f"**Next character after “{escape_markdown(chosen['prime'][-20:])}”**")
        with source.lock:
            probs = next_char_probs(source.model, source.vocab, chosen["prime"], chosen["temperature"], chosen["top_k"] or None, chosen["top_p"])
        st.plotly_chart(probability_chart(probs, source.vocab), key="next_char_chart", config={"displayModeBar": False})
    else:
        st.caption("Type a seed text to see the probabilities of the next character.")
with text_column:
    if st.button("Generate", key="generate_button", type="primary"):
        generate(source, chosen)  # the seed text's characters were checked above
    elif st.session_state.get("generated"):
        st.code(st.session_state["generated"], language=None, wrap_lines=True)
    common.download_model_button(source, key="download_model_generate")
    with st.expander("Use a different saved model"):
        common.upload_model_control("upload_model_generate")
