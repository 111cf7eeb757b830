"""Inspect: hidden-unit activations, predictions per position, weights and gradient norms."""

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from playground.ui import common
from playground.plain_text import char_name, code_span, escape_plotly
from rnn_core.attribution import input_attribution
from rnn_core.projection import char_class, embedding_map, hidden_map

MAX_INSPECT_CHARS = 500
ATTRIBUTION_LOOKBACK = MAX_INSPECT_CHARS  # the whole text typed: nothing before it counts
LOG_DECADES = 4


def activation_html(text, values):
    """Each character of `text` on a background coloured by `values` (-1..1); the text is escaped."""
    spans = []
    for char, value in zip(text, values):
        shown = "⏎\n" if char == "\n" else html.escape(char)
        spans.append(f'<span title="{value:+.2f}" style="background:{common.shade_colour(value)}">{shown}</span>')
    # pre-wrap keeps every space visible yet lets lines wrap at them; a long word breaks anywhere
    style = "line-height:1.9;font-family:monospace;font-size:1.15rem;white-space:pre-wrap;overflow-wrap:anywhere"
    return f'<div style="{style}">' + "".join(spans) + "</div>"


def attribution_html(text, positions, shades, position):
    """Characters text[positions] shaded by `shades` (0..1), the one predicted from underlined; escaped."""
    spans = []
    for index, shade in zip(positions, shades):
        char = text[index]
        shown = "⏎\n" if char == "\n" else html.escape(char)
        underline = f"border-bottom:3px solid {common.OKABE_ITO['blue']};" if index == position else ""
        spans.append(f'<span title="{shade:.2f}" style="background:{common.shade_colour(shade)};{underline}">{shown}</span>')
    style = "line-height:1.9;font-family:monospace;font-size:1.15rem;white-space:pre-wrap;overflow-wrap:anywhere"
    return f'<div class="attribution" style="{style}">' + "".join(spans) + "</div>"


def shades_of(norms, log_scale):
    """Norms (T,) -> 0..1, the largest 1; on a log scale four decades span the range."""
    top = norms.max()
    if not top > 0:
        return np.zeros_like(norms)
    if not log_scale:
        return norms / top
    return np.clip(1 + np.log10(np.maximum(norms / top, 1e-12)) / LOG_DECADES, 0, 1)


def looks_back(source, text):
    st.header("What it looks back at")
    if len(text) < 2:
        st.caption("Type at least two characters: a prediction needs a character after it.")
        return
    left, right = st.columns([3, 1])
    position = left.slider("Predict the character after position", 0, len(text) - 2, min(len(text) - 2, 40), key="attribution_position")
    log_scale = right.toggle("Log scale", key="attribution_log", help="Show small influences too: each shade step is a factor of ten.")
    with source.lock:
        found = input_attribution(source.model, source.vocab.encode(text), position, lookback=ATTRIBUTION_LOOKBACK)
    st.html(attribution_html(text, found.positions, shades_of(found.norms, log_scale), position))
    furthest = found.positions[found.norms >= 0.1 * found.norms.max()].min() if found.norms.max() > 0 else position
    st.caption(
        f"After {code_span(text[max(0, position - 11):position + 1])} the network gives the actual next character {code_span(char_name(text[position + 1]))} "
        f"a probability of {found.probability:.2f}. Shading: how much that prediction depends on each earlier character (the size of "
        f"the gradient of its log-probability with respect to that input, from the backward pass). Characters with at least a tenth "
        f"of the strongest influence reach back {position - furthest} characters."
    )


CLASS_COLOURS = {"vowel": "#D55E00", "consonant": "#0072B2", "digit": "#009E73", "space": "#000000", "punctuation": "#CC79A7", "other": "#999999"}  # Okabe-Ito, grey


def maps(source, text):
    st.header("Maps of what it learnt")
    left, right = st.columns(2)
    with source.lock:
        model = source.model
        coords, explained = embedding_map(model)
        training_text = getattr(source, "text", None) or text
        hidden = hidden_map(model, source.vocab.encode(training_text))
    chars = source.vocab.chars
    figure = go.Figure()
    for kind, colour in CLASS_COLOURS.items():
        members = [i for i, char in enumerate(chars) if char_class(char) == kind]
        if members:
            figure.add_trace(go.Scatter(
                x=coords[members, 0].tolist(), y=coords[members, 1].tolist(), mode="markers+text", name=kind,
                text=[escape_plotly(char_name(chars[i])) for i in members], textposition="top center", marker=dict(color=colour, size=9),
            ))
    figure.update_layout(height=420, margin=dict(l=10, r=10, t=30, b=10), title="Character embeddings (rows of the first input matrix)",
                         xaxis_title=f"first axis ({explained[0]:.0%} of the variance)", yaxis_title=f"second axis ({explained[1]:.0%})", legend=dict(orientation="h", y=-0.15))
    left.plotly_chart(figure, key="embedding_map", config={"displayModeBar": False})
    contexts = [escape_plotly(training_text[max(0, p - 20):p + 1].replace("\n", "⏎")) for p in hidden.positions]
    kinds = [char_class(training_text[p]) for p in hidden.positions]
    figure = go.Figure()
    for kind, colour in CLASS_COLOURS.items():
        members = [i for i, k in enumerate(kinds) if k == kind]
        if members:
            figure.add_trace(go.Scatter(  # SVG, not WebGL: browsers without a GPU (and their tests) draw it too
                x=hidden.coords[members, 0].tolist(), y=hidden.coords[members, 1].tolist(), mode="markers", name=f"after a {kind}",
                customdata=[contexts[i] for i in members], hovertemplate="…%{customdata}<extra></extra>", marker=dict(color=colour, size=4, opacity=0.6),
            ))
    figure.update_layout(height=420, margin=dict(l=10, r=10, t=30, b=10), title=f"Hidden state after each of the first {len(hidden.positions):,} characters",
                         xaxis_title=f"first axis ({hidden.explained[0]:.0%})", yaxis_title=f"second axis ({hidden.explained[1]:.0%})", legend=dict(orientation="h", y=-0.15))
    right.plotly_chart(figure, key="hidden_map", config={"displayModeBar": False})
    st.caption(
        "Both maps flatten many dimensions to the two that vary most (principal component analysis). Left: characters the network "
        "treats alike sit close together. Right: each point is the network's state after reading a character of the training "
        "text; hover for the text before it. Clusters are the contexts it tells apart."
    )


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

st.header("One neuron, character by character")
left, right = st.columns(2)
layer = left.number_input("Layer", 1, layers, layers, key="inspect_layer") - 1
unit = right.number_input("Hidden unit", 0, hidden_size - 1, 0, key="inspect_unit", help="Look for a unit that fires inside quotes, at line ends, after spaces…")
st.html(activation_html(text, hidden[layer, :, unit]))
st.caption("Orange: positive activation, blue: negative. Hover a character for its value.")

st.header("All hidden units over time")
st.plotly_chart(heatmap(hidden[layer].T, x=list(range(len(text))), height=360), key="hidden_heatmap", config={"displayModeBar": False})

probs = result.probs[0]  # (T, V)
shown_guesses = min(5, probs.shape[1])  # a text of ACGT has only four characters to guess
st.header(f"Top-{shown_guesses} predictions after each character")
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

looks_back(source, text)
maps(source, text)

st.header("Weight matrices")
name = st.selectbox("Matrix", [n for n, a in weights.items() if a.ndim == 2], key="inspect_matrix")
st.plotly_chart(heatmap(weights[name], height=420, title=f"{name} {weights[name].shape}"), key="weight_heatmap", config={"displayModeBar": False})

history = getattr(source, "history", None)
st.header("Gradient norm during training")
if history:
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[s.epoch for s in history], y=[s.grad_norm for s in history], name="mean", mode="lines", line=dict(color=common.OKABE_ITO["blue"])))
    figure.add_trace(go.Scatter(x=[s.epoch for s in history], y=[s.grad_norm_max for s in history], name="largest", mode="lines", line=dict(color=common.OKABE_ITO["orange"])))
    figure.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="epoch", yaxis_title="gradient norm (before clipping)", yaxis_type="log")
    st.plotly_chart(figure, key="grad_norm_chart", config={"displayModeBar": False})
    st.caption("Spikes are exploding gradients (clipping catches them); a norm that shrinks towards zero while the loss is still high points to vanishing gradients.")
else:
    st.caption("Train a model on the Train page to see how its gradient norm evolved.")
