"""Generate: text from a seed of your choosing, and the model's next-character probabilities."""

import html
import time

import plotly.graph_objects as go
import streamlit as st

from playground.ui import common
from playground.limits import Caps
from playground.plain_text import char_name, code_span, escape_markdown, escape_plotly
from rnn_core import next_char_probs, sample_stream
from rnn_core.sample import sample_explained

MAX_LENGTH = Caps.from_environment().generate_length
REDRAW_SECONDS = 0.03
STEP_CANDIDATES = 10  # rows of the step table: the most likely characters


def probability_chart(probs, vocab, count=20):
    """Bar chart of the `count` most likely next characters."""
    order = probs.argsort()[::-1][:count]
    figure = go.Figure(go.Bar(x=[escape_plotly(char_name(vocab.chars[i])) for i in order], y=probs[order].tolist(), marker_color=common.OKABE_ITO["vermillion"]))
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


def shaping(chosen):
    return dict(temperature=chosen["temperature"], top_k=chosen["top_k"] or None, top_p=chosen["top_p"], greedy=chosen["greedy"], seed=chosen["seed"])


def generate(source, chosen):
    """Stream the generated text into the page; remember it, the model and the options for later reruns."""
    placeholder = st.empty()
    text, last_draw = chosen["prime"], 0.0
    with source.lock:  # the model at this moment: training swaps in new copies, and never changes this one
        model = source.model
    for char in sample_stream(model, source.vocab, chosen["prime"], chosen["length"], **shaping(chosen)):
        text += char
        if time.perf_counter() - last_draw > REDRAW_SECONDS:
            placeholder.code(text, language=None, wrap_lines=True)
            last_draw = time.perf_counter()
    placeholder.empty()
    st.session_state["generated"] = text
    st.session_state["generated_with"] = (model, source.vocab, dict(chosen))
    # what a lesson's check reads (playground/lessons.py): the latest few texts and how they were made
    st.session_state["generations"] = [*st.session_state.get("generations", [])[-9:], {"options": dict(chosen), "text": text}]


def step_through(chosen):
    """One generated character at a time: the softmax in numbers, as the engine chose it.

    The table is the engine's own (rnn_core.sample.explain_choice); a new temperature, top-k or
    top-p redraws the same step with the same random number.
    """
    model, vocab, used = st.session_state["generated_with"]
    prime = used["prime"]
    cached = st.session_state.get("explained")
    if cached is None or cached[0] is not model or cached[1] != used:
        cached = st.session_state["explained"] = (model, used, sample_explained(model, vocab, prime, used["length"], **shaping(used)))
    explained = cached[2]
    first = 1 if explained.random_start else 0
    if len(explained.text) <= first:
        st.caption("Generate a longer text to step through it.")
        return
    position = st.slider("Character", first + 1, len(explained.text), first + 1, key="step_position", help="Which generated character to open up.") - 1
    table = explained.explain(position, chosen["temperature"], chosen["top_k"] or None, chosen["top_p"])
    before = prime + explained.text[:position]
    st.html(
        f'<div class="step-context" style="font-family:monospace;white-space:pre-wrap;overflow-wrap:anywhere">…{html.escape(before[-60:])}'
        f'<mark style="{common.MARK_STYLE}">{html.escape(vocab.chars[table.drawn])}</mark></div>'
    )
    generated_char = explained.text[position]
    drawn = vocab.chars[table.drawn]
    if used["greedy"] or chosen["greedy"]:
        st.caption("Greedy decoding takes the most likely character: no random number is drawn.")
    note = "" if drawn == generated_char else f" (when generated, with the options then, it was {code_span(char_name(generated_char))})"
    st.markdown(f"Drawn with these options: {code_span(char_name(drawn))}{note}" + ("" if table.u is None else f" · random number u = {table.u:.4f}"))
    shown = table.order[:STEP_CANDIDATES]
    rows = [
        {
            "character": char_name(vocab.chars[i]),
            "logit": float(table.logits[i]),
            f"logit ÷ {chosen['temperature']:g}": float(table.scaled[i]),
            "softmax": float(table.probs[i]),
            "cut by top-k": bool(table.cut_by_top_k[i]),
            "cut by top-p": bool(table.cut_by_top_p[i]),
            "renormalised": float(table.kept[i]),
            "drawn": "◀" if i == table.drawn else "",
        }
        for i in shown
    ]
    st.dataframe(rows, hide_index=True, key="step_table", column_config={name: st.column_config.NumberColumn(format="%.4f") for name in ("logit", f"logit ÷ {chosen['temperature']:g}", "softmax", "renormalised")})
    figure = go.Figure()
    labels = [escape_plotly(char_name(vocab.chars[i])) for i in shown]
    figure.add_trace(go.Bar(x=labels, y=table.probs[shown].tolist(), name="softmax at this temperature", marker_color=common.OKABE_ITO["sky blue"]))
    figure.add_trace(go.Bar(x=labels, y=table.kept[shown].tolist(), name="after top-k and top-p, renormalised", marker_color=common.OKABE_ITO["vermillion"]))
    figure.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10), barmode="group", xaxis_type="category", yaxis_title="probability", legend=dict(orientation="h", y=1.1))
    st.plotly_chart(figure, key="step_chart", config={"displayModeBar": False})
    st.caption(
        "The network scores every character (logit); dividing by the temperature sharpens (below 1) or flattens (above 1) "
        "the scores; the softmax turns them into probabilities; top-k and top-p remove the unlikely ones and the rest are "
        "scaled to add up to 1; a uniform random number u picks where it falls in their running total."
    )


BOUND_KEYS = {"prime", "length", "sample_seed", "temperature", "top_k", "top_p", "greedy"}

raw_params = common.link_parameters(number_keys=("length", "sample_seed", "temperature", "top_k", "top_p"))
st.title("Generate text")
link_notice = st.empty()
source = common.require_model("upload_model_generate")
copy_length = common.copy_length()
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
    generated = st.session_state.get("generated")
    if generated:
        common.show_sample(generated, getattr(source, "text", None), copy_length, prime=st.session_state["generated_with"][2]["prime"])
    if generated:
        with st.expander("Step through it: the softmax in numbers", expanded=False):
            step_through(chosen)
    common.download_model_button(source, key="download_model_generate")
    with st.expander("Use a different saved model"):
        common.upload_model_control("upload_model_generate")
