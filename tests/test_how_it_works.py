"""The How it works page (AppTest): numbered equations with the reference code that computes them,
and the gradient check of the current model, for no model and a model of each cell."""

import inspect
import re

import pytest
from streamlit.testing.v1 import AppTest

from test_app import ENTRY, set_help_task, train_until_done
from playground.state import LoadedModel
from rnn_core import CharRNN, Vocab, reference

PAGE = "pages/how_it_works.py"
TEXT = "the cat sat on the mat\n"


def how_it_works(model=None):
    """The page, for a session whose model is `model` (a CharRNN over TEXT's characters, loaded as from a file), or none."""
    at = AppTest.from_file(ENTRY, default_timeout=60)
    if model is not None:
        at.session_state["loaded_model"] = LoadedModel((model, Vocab.from_text(TEXT), {}), "model.npz")
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def equation_numbers(at):
    return [int(number) for latex in at.latex for number in re.findall(r"\\text\{\((\d+)\)\}", latex.value)]


def code_numbers(at):
    return {int(number) for code in at.code for number in re.findall(r"# \((\d+)\)", code.value)}


def gradient_table(at):
    at.button(key="check_gradients_button").click().run()
    assert not at.exception
    tables = [frame.value for frame in at.dataframe if "engine" in frame.value.columns]
    assert len(tables) == 1
    return tables[0]


def source(*functions):
    return "\n\n".join(inspect.getsource(function) for function in functions).strip()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_page_shows_each_numbered_equation_with_the_reference_code_that_computes_it(cell):
    at = how_it_works(CharRNN(len(set(TEXT)), 16, cell, num_layers=2))
    shown = [code.value.strip() for code in at.code]
    forward, backward = reference.CELLS[cell]
    assert shown[:4] == [
        source(reference.readout_forward, reference.readout_backward),
        source(forward),
        source(backward),
        source(reference.reference_loss_and_grads),
    ]
    assert all(code.language == "python" for code in at.code)
    numbers = equation_numbers(at)
    assert numbers == list(range(1, len(numbers) + 1))  # numbered in order, none twice
    assert set(numbers) == code_numbers(at)  # every equation has its line of code, every numbered line its equation
    assert len(numbers) == {"rnn": 11, "lstm": 19, "gru": 18}[cell]
    assert any(f"The {cell.upper()} cell, one step back" == header.value for header in at.header)
    assert any("BPTT horizon" in block.value and "What it loses" in block.value for block in at.markdown)


def test_without_a_model_the_check_runs_on_a_small_rnn_and_finds_the_notebooks_rule_wrong():
    at = how_it_works()
    assert any("There is no model yet" in block.value for block in at.markdown)
    assert equation_numbers(at) == list(range(1, 12))  # the RNN's
    table = gradient_table(at)
    assert list(table["matrix"]) == ["Wx0", "Wh0", "b0", "Why", "by"]
    assert (table["engine"] < 1e-5).all()
    hidden_layer = table[table["matrix"].isin(["Wx0", "Wh0", "b0"])]
    assert (hidden_layer["notebook's rule"] > 0.1).all()
    assert any("5 characters" in caption.value and "hidden size 8" in caption.value for caption in at.caption)
    assert any("worst over the entries checked" in caption.value for caption in at.caption)


def test_the_check_on_a_trained_rnn_finds_the_engine_right_and_the_notebooks_rule_wrong():
    at = AppTest.from_file(ENTRY, default_timeout=60).run()
    set_help_task(at)
    at.number_input(key="epochs").set_value(20).run()
    at.button(key="train_button").click().run()
    run = train_until_done(at)
    assert run.status == "done" and run.model.cell_name == "rnn"
    at.switch_page(PAGE).run()
    table = gradient_table(at)
    assert list(table["shape"]) == ["5 × 8", "8 × 8", "8", "8 × 5", "5"]  # "help!": 5 characters; hidden size 100 shrunk to 8
    assert (table["engine"] < 1e-5).all()
    assert (table.set_index("matrix").loc[["Wx0", "Wh0", "b0"], "notebook's rule"] > 0.1).all()
    assert (table.set_index("matrix").loc[["Why", "by"], "notebook's rule"] < 1e-5).all()  # its read-out was right
    assert any("your model's 5 characters" in caption.value for caption in at.caption)


@pytest.mark.parametrize("cell,num_layers", [("lstm", 2), ("gru", 3), ("rnn", 2)])
def test_other_models_are_checked_by_the_engine_alone_and_the_page_says_why(cell, num_layers):
    # a horizon and dropout in the model: the copy still checks the whole window's gradient, without dropout
    at = how_it_works(CharRNN(len(set(TEXT)), 32, cell, num_layers=num_layers, bptt_horizon=1, dropout=0.3))
    table = gradient_table(at)
    assert len(table) == (4 if cell == "gru" else 3) * num_layers + 2
    assert list(table["matrix"])[-2:] == ["Why", "by"] and "notebook's rule" not in table.columns
    assert (table["engine"] < 1e-5).all()
    assert any("exists only for the plain RNN" in info.value for info in at.info)
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    assert table.set_index("matrix").loc["Wh0", "entries checked"] == f"32 of {8 * 8 * gates}"  # a sample of a hidden size of 8


def test_a_check_made_for_another_model_is_not_shown_for_this_one():
    at = how_it_works()
    gradient_table(at)
    at.session_state["loaded_model"] = LoadedModel((CharRNN(len(set(TEXT)), 8, "gru"), Vocab.from_text(TEXT), {}), "model.npz")
    at.run()
    assert not at.exception
    assert not [frame for frame in at.dataframe if "engine" in frame.value.columns]
