"""The gradient check behind the How it works page's button. Plain Python, no Streamlit.

A numerical gradient costs four evaluations of the loss per entry, so the check runs on a small
float64 copy of the model (the same cell, layers and vocabulary; a hidden size of 8 at most; fresh
seeded weights) and compares at most ENTRIES_PER_MATRIX entries of each matrix. The copy uses the
whole window and no dropout: a BPTT horizon cuts the gradient on purpose, and then it is no longer
the gradient of the loss, and dropout makes the loss random.
"""

from dataclasses import dataclass

from rnn_core.gradcheck import engine_gradients, random_problem, worst_errors_by_matrix
from rnn_core.notebook_rule import notebook_loss_and_grads

HIDDEN_SIZE = 8
BATCH_SIZE = 2
STEPS = 5
ENTRIES_PER_MATRIX = 32
SEED = 0
NOTEBOOK_TEXT = "help!"  # without a model: a plain RNN over the notebook's characters


@dataclass
class GradientReport:
    rows: list  # per matrix: {"matrix", "shape", "entries checked", "engine"[, "notebook's rule"]}
    about: str  # what was checked, in a sentence
    notebook_note: str  # why the notebook's rule has no column, or "" when it has one


def copy_settings(model=None):
    """(cell, num_layers, vocab_size, hidden_size) of the small copy; without a model, a one-layer RNN over "help!"."""
    if model is None:
        return "rnn", 1, len(set(NOTEBOOK_TEXT)), HIDDEN_SIZE
    return model.cell_name, model.num_layers, model.vocab_size, min(HIDDEN_SIZE, model.hidden_size)


def gradient_report(model=None):
    """Check the engine's gradient (and, for a one-layer plain RNN, the notebook's rule) on a small copy of `model`, a CharRNN."""
    cell, num_layers, vocab_size, hidden_size = copy_settings(model)
    copy, inputs, targets, state = random_problem(cell, num_layers, hidden_size, vocab_size, BATCH_SIZE, STEPS, seed=SEED)
    rules = {"engine": engine_gradients}
    notebook = cell == "rnn" and num_layers == 1
    if notebook:
        rules["notebook's rule"] = notebook_loss_and_grads
    checks = worst_errors_by_matrix(copy, inputs, targets, state, rules=rules, max_entries=ENTRIES_PER_MATRIX, seed=SEED)
    rows = [
        {"matrix": name, "shape": " × ".join(map(str, check["shape"])), "entries checked": f"{check['checked']} of {check['size']}", **check["errors"]}
        for name, check in checks.items()
    ]
    layers = f"{num_layers} layer{'s' if num_layers > 1 else ''}"
    whose = "your model's" if model is not None else "the notebook's"
    about = (
        f"Checked on a small copy: {cell.upper()}, {layers}, {whose} {vocab_size} characters, hidden size {hidden_size}, "
        f"random weights, {BATCH_SIZE} sequences of {STEPS} steps from a random state, the whole window (no truncation, no dropout)."
    )
    note = "" if notebook else "The notebook's rule exists only for the plain RNN of one layer, the notebook's model: train an RNN of one layer to set it beside the engine."
    return GradientReport(rows, about, note)
