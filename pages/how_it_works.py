"""How it works: the equations, numbered, each with the plain code that computes them; truncation; a
gradient check of the current model; the shapes of the model; and the notebook's mistake."""

import inspect

import streamlit as st

from playground.gradient_report import copy_settings, gradient_report
from playground.state import bptt_experiment
from playground.ui import common
from rnn_core import reference

# (number, LaTeX; \\ breaks a line): the numbers are those of the comments in rnn_core/reference.py.
READOUT = (
    [
        (1, r"p_t = \mathrm{softmax}(h_t W_{hy} + b_y)"),
        (2, r"L = -\tfrac{1}{BT} \sum_{b,t} \log p_t[y_t]"),
    ],
    [
        (3, r"\delta y_t = (p_t - \mathrm{onehot}(y_t)) / BT"),
        (4, r"\nabla W_{hy} = \textstyle\sum_t h_t^\top \delta y_t \\ \nabla b_y = \textstyle\sum_t \delta y_t"),
        (5, r"\delta h_t^{(L)} \mathrel{+}= \delta y_t W_{hy}^\top \\ \delta h_t^{(l)} \mathrel{+}= \delta x_t^{(l+1)}, \ l < L"),
    ],
)
EQUATIONS = {
    "rnn": (
        [
            (6, r"a_t = x_t W_x + b + h_{t-1} W_h"),
            (7, r"h_t = \tanh(a_t)"),
        ],
        [
            (8, r"\delta a_t = \delta h_t \odot (1 - h_t^2)"),
            (9, r"\nabla W_x = \textstyle\sum_t x_t^\top \delta a_t \\ \nabla b = \textstyle\sum_t \delta a_t \\ \nabla W_h = \textstyle\sum_t h_{t-1}^\top \delta a_t"),
            (10, r"\delta x_t = \delta a_t W_x^\top"),
            (11, r"\delta h_{t-1} = \delta a_t W_h^\top"),
        ],
    ),
    "lstm": (
        [
            (6, r"a_t = x_t W_x + b + h_{t-1} W_h = [a^i, a^f, a^o, a^g]"),
            (7, r"i = \sigma(a^i), \quad f = \sigma(a^f), \quad o = \sigma(a^o)"),
            (8, r"g = \tanh(a^g)"),
            (9, r"c_t = f \odot c_{t-1} + i \odot g"),
            (10, r"h_t = o \odot \tanh(c_t)"),
        ],
        [
            (11, r"\delta o = \delta h_t \odot \tanh(c_t)"),
            (12, r"\delta c_t \mathrel{+}= \delta h_t \odot o \odot (1 - \tanh^2 c_t)"),
            (13, r"\delta i = \delta c_t \odot g, \quad \delta f = \delta c_t \odot c_{t-1}, \quad \delta g = \delta c_t \odot i"),
            (14, r"\delta a^i = \delta i \odot i(1-i) \\ \delta a^f = \delta f \odot f(1-f) \\ \delta a^o = \delta o \odot o(1-o)"),
            (15, r"\delta a^g = \delta g \odot (1 - g^2)"),
            (16, r"\delta a_t = [\delta a^i, \delta a^f, \delta a^o, \delta a^g] \\ \nabla W_x = \textstyle\sum_t x_t^\top \delta a_t \\ \nabla b = \textstyle\sum_t \delta a_t \\ \nabla W_h = \textstyle\sum_t h_{t-1}^\top \delta a_t"),
            (17, r"\delta x_t = \delta a_t W_x^\top"),
            (18, r"\delta h_{t-1} = \delta a_t W_h^\top"),
            (19, r"\delta c_{t-1} = \delta c_t \odot f"),
        ],
    ),
    "gru": (
        [
            (6, r"u_t = x_t W_x + b = [u^r, u^z, u^n]"),
            (7, r"v_t = h_{t-1} W_h = [v^r, v^z, v^n]"),
            (8, r"r = \sigma(u^r + v^r), \quad z = \sigma(u^z + v^z)"),
            (9, r"n = \tanh(u^n + r \odot (v^n + b_{hn}))"),
            (10, r"h_t = (1 - z) \odot n + z \odot h_{t-1}"),
        ],
        [
            (11, r"\delta n = \delta h_t \odot (1 - z) \\ \delta z = \delta h_t \odot (h_{t-1} - n)"),
            (12, r"\delta u^n = \delta n \odot (1 - n^2)"),
            (13, r"\delta r = \delta u^n \odot (v^n + b_{hn})"),
            (14, r"\delta u^r = \delta r \odot r(1-r) \\ \delta u^z = \delta z \odot z(1-z)"),
            (15, r"\delta v^r = \delta u^r, \quad \delta v^z = \delta u^z, \quad \delta v^n = \delta u^n \odot r"),
            (16, r"\delta u_t = [\delta u^r, \delta u^z, \delta u^n], \quad \delta v_t = [\delta v^r, \delta v^z, \delta v^n] \\ \nabla W_x = \textstyle\sum_t x_t^\top \delta u_t \\ \nabla b = \textstyle\sum_t \delta u_t \\ \nabla W_h = \textstyle\sum_t h_{t-1}^\top \delta v_t \\ \nabla b_{hn} = \textstyle\sum_t \delta v^n"),
            (17, r"\delta x_t = \delta u_t W_x^\top"),
            (18, r"\delta h_{t-1} = \delta h_t \odot z + \delta v_t W_h^\top"),
        ],
    ),
}


# The step back that a horizon stops applying where it cuts.
CARRIED_BACK = {"rnn": "(11)", "lstm": "(18) with (19)", "gru": "(18)"}


def equations_and_code(equations, functions):
    """One block: the numbered equations, and under them the reference code that computes them,
    read from rnn_core/reference.py. (Side by side, in this page's width, the code would wrap at
    fifty characters.)"""
    with st.container(border=True):
        for number, latex in equations:
            st.latex(rf"\begin{{gathered}}{latex}\end{{gathered}} \qquad \text{{({number})}}")
        st.code("\n\n".join(inspect.getsource(function) for function in functions), language="python", wrap_lines=True)


st.title("How it works")
source = common.current_model()
model = source.model if source is not None else None
cell = model.cell_name if model is not None else "rnn"
st.markdown(
    f"The equations of the **{cell.upper()}** cell{' in your model' if model is not None else ''}, each block with the code that computes it: "
    "`rnn_core/reference.py` is the engine's maths in plain numpy, one equation per line, numbered as here, "
    "and the tests check that the fast engine computes the same loss and gradients to ten digits."
)
st.markdown(
    "Every vector is a row and a batch of B of them a matrix. `x_t` is the layer's input: for the first layer the one-hot row of character `x_t` "
    "(so `x_t W_x` is row `x_t` of `W_x`, which the engine looks up instead of multiplying), for the others `h_t` of the layer below. "
    "A superscript (l) names layer l of L. "
    "`δ` is the gradient of the loss `L`, `⊙` multiplies entry by entry, and `+=` adds to what a later step or the layer above already brought."
)
forward, backward = EQUATIONS[cell]
forward_step, backward_step = reference.CELLS[cell]

st.header("Around every cell: the read-out and the loss")
equations_and_code(READOUT[0] + READOUT[1], [reference.readout_forward, reference.readout_backward])
st.header(f"The {cell.upper()} cell, one step forward")
equations_and_code(forward, [forward_step])
st.header(f"The {cell.upper()} cell, one step back")
equations_and_code(backward, [backward_step])

st.header("Back through time, and where it is cut")
st.markdown(
    "Training reads the text in windows of `seq_len` characters and carries the state from one window to the next, "
    "but no gradient crosses a window's edge: the window is already a truncation of backpropagation through time. "
    "A **BPTT horizon** of k cuts shorter: the loss at step t sends its gradient back through steps t, t−1, …, t−k+1 "
    f"in every layer, and there it is dropped: {CARRIED_BACK[cell]} is not applied once more. The loop below is that rule, one loss at a time; "
    "the engine does the same with k gradients in flight at once.\n\n"
    "*What it saves:* each loss is carried back k steps instead of all the way, so a long sequence costs backward time and memory "
    "in proportion to k rather than to its length; that is why networks are trained on windows at all. "
    "(Inside one window this engine gains no time from a horizon: it still keeps the whole window, and carries k gradients at once; "
    "here the horizon is for seeing what is lost.) "
    "*What it loses:* the forward pass still reads every step, so the network can still use what it saw long ago, "
    "but it can no longer learn to keep it: a character that matters more than k steps later earns no gradient for being remembered. "
    "The experiments at the bottom of this page show it: with k = 1, the notebook's mistake, the network cannot learn to repeat the first letter."
)
st.code(inspect.getsource(reference.reference_loss_and_grads), language="python", wrap_lines=True)

if model is not None:
    st.header("The shapes of your model")
    st.dataframe(
        [{"matrix": name, "shape": " × ".join(map(str, array.shape)), "numbers": array.size} for name, array in model.params.items()],
        hide_index=True,
    )
    st.caption(f"{model.num_params:,} trainable numbers in all.")

st.header("Check the gradients")
st.markdown(
    "A numerical gradient needs no calculus: nudge one weight up and down by a little, see how much the loss moves. "
    "The button sets it beside the engine's gradient, and beside the notebook's rule (its backward pass, rebuilt from the description "
    "of its three mistakes in `rnn_core/notebook_rule.py`), for every matrix"
    + (" of a small copy of your model." if model is not None else ". There is no model yet, so it checks a small plain RNN over the notebook's characters h, e, l, p, !.")
)
settings = copy_settings(model)
if st.button("Check the gradients", key="check_gradients_button"):
    st.session_state["gradient_report"] = (settings, gradient_report(model))
checked = st.session_state.get("gradient_report")
if checked is not None and checked[0] == settings:
    report = checked[1]
    errors = {column: st.column_config.NumberColumn(format="%.1e") for column in report.rows[0] if column in ("engine", "notebook's rule")}
    with st.container(key="gradient_table"):
        st.dataframe(report.rows, hide_index=True, column_config=errors)
    st.caption(
        "Each number is the worst over the entries checked of |analytic − numerical| / (|analytic| + |numerical|): "
        "below about 1e-6 the gradient is right (what is left is the numerical one's rounding); near 1 it is wrong, often in sign."
    )
    if report.notebook_note:
        st.info(report.notebook_note)
    else:
        st.caption("The notebook's rule gets the read-out (Why, by) right: its three mistakes are all in the recurrent layer.")
    st.caption(report.about)

st.header("The notebook's mistake: no backpropagation through time")
st.markdown(
    "The notebook this app grew from trained an RNN on *help* → *elp!* but let each character's loss reach only "
    "the hidden state of its own step: a BPTT horizon of 1. Train each task both ways and compare."
)
TASKS = {
    "help": ('"help" → "elp!"', "Every character has exactly one successor, so the current input alone predicts the next one: "
             "both runs learn it, and the notebook's bug goes unnoticed."),
    "memory": ("Remember the first letter", "Lines like `b......B`: the last letter repeats the first one, seven steps back. "
               "Only a gradient that flows back through time teaches the network to keep it."),
}
for task, (title, about) in TASKS.items():
    st.markdown(f"**{title}**: {about}")
    if st.button(f"Run {title}", key=f"bptt_{task}_button"):
        st.session_state[f"bptt_{task}"] = bptt_experiment(task)
    curves = st.session_state.get(f"bptt_{task}")
    if curves:
        st.plotly_chart(common.comparison_figure(curves), key=f"bptt_{task}_chart", config={"displayModeBar": False})
        st.caption(" · ".join(f"{name}: final loss {losses[-1]:.4f} nats per character" for name, losses in curves.items()))
