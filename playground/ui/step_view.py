"""Step mode's display: one training step opened up, from the numbers the engine's own step returned."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from playground.plain_text import char_name
from playground.ui.common import OKABE_ITO, run_colours


def show_step(details, vocab, title):
    """Draw Trainer.step_in_detail's result: the window, predictions, losses, gradients, updates.

    details: inputs, targets (B, T); probs (B, T, V); step_losses (T,); hidden_grad_norms (L, T);
    updates {name: array}; update_norms, param_norms {name: float}. The first stream of the batch
    is shown character by character.
    """
    inputs, targets, probs = details["inputs"][0], details["targets"][0], details["probs"][0]  # (T,), (T,), (T, V)
    batch = len(details["inputs"])
    st.markdown(f"**{title}** · loss {details['loss']:.3f} nats per character · gradient norm {details['grad_norm']:.3g} before clipping")
    st.caption(f"The window: {len(inputs)} characters{f' of each of {batch} streams; the first is shown' if batch > 1 else ''}. Every number comes from the step that updated the model.")
    st.dataframe(pd.DataFrame(window_rows(inputs, targets, probs, details["step_losses"], vocab)).set_index("step"), key="step_table")

    left, right = st.columns(2)
    left.plotly_chart(prediction_figure(inputs, targets, probs, vocab), key="step_predictions", config={"displayModeBar": False})
    right.plotly_chart(gradient_figure(details["hidden_grad_norms"]), key="step_gradients", config={"displayModeBar": False})
    right.caption("Read it right to left: how much of the window's loss reaches each earlier hidden state. A plain RNN's shrinks (vanishing) or grows (exploding) going back; LSTM and GRU keep it steadier.")

    st.markdown("**The update applied to each weight matrix**")
    st.dataframe(pd.DataFrame(update_rows(details)).set_index("matrix"), key="step_updates")
    chosen = st.selectbox("Show the update of", list(details["updates"]), key="step_matrix")
    st.plotly_chart(update_figure(details["updates"][chosen], chosen), key="step_update_map", config={"displayModeBar": False})


def window_rows(inputs, targets, probs, step_losses, vocab):
    rows = []
    for position, (char_id, target_id) in enumerate(zip(inputs.tolist(), targets.tolist())):
        ranked = sorted(range(len(vocab)), key=lambda index: -probs[position, index])[:3]
        rows.append(
            {
                "step": position + 1,
                "input": char_name(vocab.chars[char_id]),
                "target": char_name(vocab.chars[target_id]),
                "P(target)": round(float(probs[position, target_id]), 4),
                "top guesses": ", ".join(f"{char_name(vocab.chars[index])} {probs[position, index]:.2f}" for index in ranked),
                "loss (nats, batch mean)": round(float(step_losses[position]), 4),
            }
        )
    return rows


def update_rows(details):
    return [
        {
            "matrix": name,
            "shape": " × ".join(map(str, update.shape)),
            "‖update‖": f"{details['update_norms'][name]:.3g}",
            "‖weights‖": f"{details['param_norms'][name]:.3g}",
            "‖update‖ / ‖weights‖": f"{details['update_norms'][name] / max(details['param_norms'][name], 1e-12):.2g}",
        }
        for name, update in details["updates"].items()
    ]


def prediction_figure(inputs, targets, probs, vocab):
    columns = [f"{position + 1}: {char_name(vocab.chars[char_id])}" for position, char_id in enumerate(inputs.tolist())]
    rows = [char_name(char) for char in vocab.chars]
    figure = go.Figure(go.Heatmap(z=probs.T, x=columns, y=rows, colorscale="Viridis", zmin=0, zmax=1, colorbar=dict(title="P")))
    figure.add_trace(
        go.Scatter(x=columns, y=[char_name(vocab.chars[target_id]) for target_id in targets.tolist()], mode="markers", marker=dict(symbol="circle-open", size=14, color=OKABE_ITO["vermillion"], line=dict(width=2)), name="target")
    )
    figure.update_layout(height=360, margin=dict(l=10, r=10, t=40, b=10), title="Predicted next character (circles: the target)", showlegend=False)
    return figure


def gradient_figure(hidden_grad_norms):
    figure = go.Figure()
    steps = list(range(1, hidden_grad_norms.shape[1] + 1))
    for layer, (norms, colour) in enumerate(zip(hidden_grad_norms, run_colours(len(hidden_grad_norms)))):
        figure.add_trace(go.Scatter(x=steps, y=norms.tolist(), mode="lines+markers", name=f"layer {layer + 1}", line=dict(color=colour)))
    figure.update_layout(
        height=360, margin=dict(l=10, r=10, t=40, b=10), title="‖∂loss/∂hₜ‖ at each step of the window", xaxis_title="step t", yaxis_type="log", legend=dict(orientation="h")
    )
    return figure


def update_figure(update, name):
    matrix = update if update.ndim == 2 else update[None, :]
    limit = float(abs(matrix).max()) or 1.0
    figure = go.Figure(go.Heatmap(z=matrix, colorscale="RdBu", zmin=-limit, zmax=limit))
    figure.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), title=f"Update of {name}", yaxis=dict(autorange="reversed"))
    return figure
