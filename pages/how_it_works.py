"""How it works: the equations of the cell, the shapes of the model, and the notebook's mistake."""

import streamlit as st

from playground.ui import common
from playground.state import bptt_experiment

EQUATIONS = {
    "rnn": (
        [r"h_t = \tanh(W_x[x_t] + b + h_{t-1} W_h)", r"p_t = \mathrm{softmax}(h_t W_{hy} + b_y)", r"L = -\tfrac{1}{T} \sum_t \log p_t[y_t]"],
        [
            r"\delta y_t = (p_t - \mathrm{onehot}(y_t)) / T",
            r"\delta h_t = \delta y_t W_{hy}^\top + \delta a_{t+1} W_h^\top",
            r"\delta a_t = \delta h_t \odot (1 - h_t^2)",
            r"\nabla W_h = \sum_t h_{t-1}^\top \delta a_t, \quad \nabla W_{hy} = \sum_t h_t^\top \delta y_t",
        ],
    ),
    "lstm": (
        [
            r"[i, f, o] = \sigma(W_x[x_t] + b + h_{t-1} W_h)_{ifo}, \quad g = \tanh(\cdot)_g",
            r"c_t = f \odot c_{t-1} + i \odot g, \quad h_t = o \odot \tanh(c_t)",
            r"p_t = \mathrm{softmax}(h_t W_{hy} + b_y)",
        ],
        [
            r"\delta c_t = \delta h_t \odot o \odot (1 - \tanh^2 c_t) + \delta c_{t+1} \odot f_{t+1}",
            r"\delta i = \delta c_t \odot g \odot i(1-i), \quad \delta f = \delta c_t \odot c_{t-1} \odot f(1-f)",
            r"\delta o = \delta h_t \odot \tanh c_t \odot o(1-o), \quad \delta g = \delta c_t \odot i \odot (1-g^2)",
            r"\delta h_{t-1} = [\delta i, \delta f, \delta o, \delta g] W_h^\top",
        ],
    ),
    "gru": (
        [
            r"[r, z] = \sigma(W_x[x_t] + b + h_{t-1} W_h)_{rz}",
            r"n = \tanh(x_n + r \odot (h_{t-1} W_{hn} + b_{hn}))",
            r"h_t = n + z \odot (h_{t-1} - n)",
        ],
        [
            r"\delta n = \delta h_t \odot (1 - z) \odot (1 - n^2), \quad \delta z = \delta h_t \odot (h_{t-1} - n) \odot z(1-z)",
            r"\delta r = \delta n \odot (h_{t-1} W_{hn} + b_{hn}) \odot r(1-r)",
            r"\delta h_{t-1} = \delta h_t \odot z + [\delta r, \delta z, \delta n \odot r] W_h^\top",
        ],
    ),
}

st.title("How it works")
source = common.current_model()
cell = source.model.cell_name if source is not None else "rnn"
st.markdown(
    f"The equations of the **{cell.upper()}** cell{' in your model' if source is not None else ''}. "
    "`W_x[x_t]` is the row of the input matrix for character `x_t`: the same as multiplying a one-hot vector by `W_x`, without the multiplication."
)
forward, backward = EQUATIONS[cell]
left, right = st.columns(2)
with left:
    st.subheader("Forward")
    for line in forward:
        st.latex(line)
with right:
    st.subheader("Backward (through time)")
    for line in backward:
        st.latex(line)

if source is not None:
    st.subheader("The shapes of your model")
    st.dataframe(
        [{"matrix": name, "shape": " × ".join(map(str, array.shape)), "numbers": array.size} for name, array in source.model.params.items()],
        hide_index=True,
    )
    st.caption(f"{source.model.num_params:,} trainable numbers in all.")

st.subheader("The notebook's mistake: no backpropagation through time")
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
