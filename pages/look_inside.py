"""Inspect: hidden-unit activations, predictions per position, weights and gradient norms."""

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from playground.ui import common
from playground.plain_text import char_name

MAX_INSPECT_CHARS = 500


def activation_html(text, values):
    """Each character of `text` on a background coloured by `values` (-1..1); the text is escaped."""
    spans = []
    for char, value in zip(text, values):
        shade = int(min(abs(value), 1.0) * 200)
        colour = f"rgba(217, 72, 15, {shade / 255:.2f})" if value > 0 else f"rgba(34, 139, 230, {shade / 255:.2f})"
        shown = "⏎\n" if char == "\n" else html.escape(char)
        spans.append(f'<span title="{value:+.2f}" style="background:{colour}">{shown}</span>')
    # pre-wrap keeps every space visible yet lets lines wrap at them; a long word breaks anywhere
    style = "line-height:1.9;font-family:monospace;font-size:1.15rem;white-space:pre-wrap;overflow-wrap:anywhere"
    return f'<div style="{style}">' + "".join(spans) + "</div>"


def heatmap(z, x=None, y=None, height=320, colorscale="RdBu_r", title=None):
    figure = go.Figure(go.Heatmap(z=z, x=x, y=y, colorscale=colorscale, zmid=0))
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=30 if title else 10, b=10), title=title)
    return figure


st.title("Look inside the network")
source = common.require_model("upload_model_inspect")

default_text = getattr(source, "text", "")[:120] or source.vocab.decode(np.arange(len(source.vocab)))
text = st.text_area("Text to run through the network", value=default_text, key="inspect_text", max_chars=MAX_INSPECT_CHARS)
if not text:
    st.info("Type some text to see what the network does with it.")
    st.stop()
common.stop_on_unknown_characters(source.vocab, text)

with source.lock:
    result = source.model.forward(source.vocab.encode(text)[None, :])
    weights = {name: array.copy() for name, array in source.model.params.items()}
hidden = result.hidden[:, 0]  # (L, T, H)
layers, _, hidden_size = hidden.shape

st.subheader("One neuron, character by character")
left, right = st.columns(2)
layer = left.number_input("Layer", 1, layers, layers, key="inspect_layer") - 1
unit = right.number_input("Hidden unit", 0, hidden_size - 1, 0, key="inspect_unit", help="Look for a unit that fires inside quotes, at line ends, after spaces…")
st.html(activation_html(text, hidden[layer, :, unit]))
st.caption("Orange: positive activation, blue: negative. Hover a character for its value.")

st.subheader("All hidden units over time")
st.plotly_chart(heatmap(hidden[layer].T, x=list(range(len(text))), height=360), key="hidden_heatmap", config={"displayModeBar": False})

probs = result.probs[0]  # (T, V)
shown_guesses = min(5, probs.shape[1])  # a text of ACGT has only four characters to guess
st.subheader(f"Top-{shown_guesses} predictions after each character")
top = np.argsort(-probs, axis=1)[:, :shown_guesses]  # (T, k)
rows = [
    {
        "after": repr(text[: t + 1][-12:]),
        "next (actual)": char_name(text[t + 1]) if t + 1 < len(text) else "",
        **{f"#{k + 1}": f"{char_name(source.vocab.chars[top[t, k]])} {probs[t, top[t, k]]:.2f}" for k in range(shown_guesses)},
    }
    for t in range(len(text))
]
st.dataframe(rows, hide_index=True, height=300)

st.subheader("Weight matrices")
name = st.selectbox("Matrix", [n for n, a in weights.items() if a.ndim == 2], key="inspect_matrix")
st.plotly_chart(heatmap(weights[name], height=420, title=f"{name} {weights[name].shape}"), key="weight_heatmap", config={"displayModeBar": False})

history = getattr(source, "history", None)
st.subheader("Gradient norm during training")
if history:
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[s.epoch for s in history], y=[s.grad_norm for s in history], name="mean", mode="lines"))
    figure.add_trace(go.Scatter(x=[s.epoch for s in history], y=[s.grad_norm_max for s in history], name="largest", mode="lines"))
    figure.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="epoch", yaxis_title="gradient norm (before clipping)", yaxis_type="log")
    st.plotly_chart(figure, key="grad_norm_chart", config={"displayModeBar": False})
    st.caption("Spikes are exploding gradients (clipping catches them); a norm that shrinks towards zero while the loss is still high points to vanishing gradients.")
else:
    st.caption("Train a model on the Train page to see how its gradient norm evolved.")
