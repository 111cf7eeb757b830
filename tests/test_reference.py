"""The fast engine against the plain reference (rnn_core/reference.py), and both against the loss
they differentiate: every cell, one and two layers, BPTT horizons 1, 2 and the whole window."""

import numpy as np
import pytest

from rnn_core import CharRNN
from rnn_core import cells
from rnn_core.gradcheck import engine_gradients, numerical_derivative, random_problem, relative_errors, worst_errors_by_matrix
from rnn_core.notebook_rule import notebook_loss_and_grads
from rnn_core.reference import reference_loss_and_grads

CELLS = ["rnn", "lstm", "gru"]
HORIZONS = [1, 2, None]  # None: the whole window
STEPS = 6  # longer than every horizon, so that each cuts something


def problem(cell, num_layers, horizon, seed=0):
    return random_problem(cell, num_layers, hidden_size=5, vocab_size=7, batch_size=3, steps=STEPS, bptt_horizon=horizon, seed=seed)


def assert_same(engine, reference):
    """Loss and every gradient agree to 1e-10 (relative to the largest entry of each, at least 1)."""
    (engine_loss, engine_grads), (reference_loss, reference_grads) = engine, reference
    assert abs(engine_loss - reference_loss) <= 1e-10 * max(1.0, abs(reference_loss))
    assert set(engine_grads) == set(reference_grads)
    for name, expected in reference_grads.items():
        assert engine_grads[name].shape == expected.shape, name
        assert np.abs(engine_grads[name] - expected).max() <= 1e-10 * max(1.0, np.abs(expected).max()), name


def engine(model, inputs, targets, state):
    loss, grads, _ = model.loss_and_grads(inputs, targets, state)
    return loss, grads


@pytest.mark.parametrize("horizon", HORIZONS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_the_engine_computes_what_the_reference_computes(cell, num_layers, horizon):
    model, inputs, targets, state = problem(cell, num_layers, horizon)
    reference = reference_loss_and_grads(model, inputs, targets, state)
    assert_same(engine(model, inputs, targets, state), reference)
    # no gradient is trivially zero: every parameter is in play
    assert all(np.abs(gradient).max() > 1e-4 for gradient in reference[1].values())


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_each_horizon_cuts_something_in_every_recurrent_matrix(cell, num_layers):
    # the comparison above would prove little if a horizon changed nothing
    grads = {}
    for horizon in HORIZONS:
        model, inputs, targets, state = problem(cell, num_layers, horizon)
        grads[horizon] = reference_loss_and_grads(model, inputs, targets, state)[1]
    for layer in range(num_layers):
        name = f"Wh{layer}"
        assert np.abs(grads[1][name] - grads[2][name]).max() > 1e-4, name
        assert np.abs(grads[2][name] - grads[None][name]).max() > 1e-4, name
    assert np.array_equal(grads[1]["Why"], grads[None]["Why"])  # the read-out is never truncated


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_the_reference_is_the_gradient_of_the_engines_loss(cell, num_layers):
    # On its own, not only the same as the engine: central differences of model.loss.
    model, inputs, targets, state = problem(cell, num_layers, None, seed=4)
    _, grads = reference_loss_and_grads(model, inputs, targets, state)
    analytic = np.concatenate([grads[name].reshape(-1) for name in model.params])
    numeric = np.array([numerical_derivative(model, model.flat_params, index, inputs, targets, state) for index in range(model.num_params)])
    assert relative_errors(analytic, numeric).max() < 1e-6


def test_the_reference_takes_a_float32_model_in_float64_and_a_missing_state_as_zeros():
    model = CharRNN(6, 4, "lstm", num_layers=2, seed=1)
    assert model.dtype == np.float32
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, 6, (2, 5)), rng.integers(0, 6, (2, 5))
    loss, grads = reference_loss_and_grads(model, inputs, targets)
    assert all(gradient.dtype == np.float64 for gradient in grads.values())
    loss_from_zeros, grads_from_zeros = reference_loss_and_grads(model, inputs, targets, model.initial_state(2))
    assert loss == loss_from_zeros and all(np.array_equal(grads[name], grads_from_zeros[name]) for name in grads)
    engine_loss, engine_grads, _ = model.loss_and_grads(inputs, targets)
    assert engine_loss == pytest.approx(loss, rel=1e-5)
    assert np.allclose(engine_grads["Wh0"], grads["Wh0"], rtol=1e-3, atol=1e-6)


def test_the_reference_refuses_a_model_with_dropout():
    model = CharRNN(5, 4, "gru", dropout=0.2, dtype=np.float64)
    with pytest.raises(ValueError, match="dropout"):
        reference_loss_and_grads(model, np.zeros((1, 3), int), np.zeros((1, 3), int))


def test_a_broken_engine_no_longer_matches_the_reference(monkeypatch):
    # break the LSTM's cell-state path through time (the forget gate's scaling): the comparison must see it
    model, inputs, targets, state = problem("lstm", 1, None)
    reference = reference_loss_and_grads(model, inputs, targets, state)
    original = cells.Ages.scale_back

    def leaky(self, slots, factor_t, carried):
        original(self, slots, factor_t, carried)
        carried *= 1.001

    monkeypatch.setattr(cells.Ages, "scale_back", leaky)
    with pytest.raises(AssertionError):
        assert_same(engine(model, inputs, targets, state), reference)


def test_a_broken_reference_no_longer_matches_the_engine(monkeypatch):
    # the GRU's reset gate read from the wrong place: the comparison and the numerical check both see it
    from rnn_core import reference

    model, inputs, targets, state = problem("gru", 2, 2)
    expected = engine(model, inputs, targets, state)
    original = reference.gru_backward

    def wrong(d_state, saved, params, grads):
        return original(d_state, {**saved, "v_n": saved["v_n"] * 1.01}, params, grads)

    monkeypatch.setitem(reference.CELLS, "gru", (reference.gru_forward, wrong))
    with pytest.raises(AssertionError):
        assert_same(expected, reference.reference_loss_and_grads(model, inputs, targets, state))


def test_the_matrix_report_finds_the_engine_right_everywhere():
    model, inputs, targets, state = random_problem("gru", 2, hidden_size=4, vocab_size=6, batch_size=2, steps=4, seed=2)
    report = worst_errors_by_matrix(model, inputs, targets, state)
    assert list(report) == list(model.params)
    for name, row in report.items():
        assert row["shape"] == model.params[name].shape
        assert row["checked"] == (len(np.unique(inputs)) * row["shape"][1] if name == "Wx0" else row["size"])
        assert row["errors"]["engine"] < 1e-6, name


def test_the_notebooks_rule_is_its_three_mistakes_on_a_right_forward_pass():
    # One step from a zero state, where the true dWh is zero (h_{t-1} = 0) and BPTT has nothing to add.
    model, inputs, targets, _ = random_problem("rnn", 1, hidden_size=5, vocab_size=6, batch_size=2, steps=1, seed=5)
    state = model.initial_state(2)
    loss, grads = notebook_loss_and_grads(model, inputs, targets, state)
    true_loss, true_grads, _ = model.loss_and_grads(inputs, targets, state)
    assert loss == pytest.approx(true_loss, rel=1e-12)
    for name in ("Why", "by"):  # the read-out's gradients were right
        assert np.allclose(grads[name], true_grads[name], rtol=1e-12, atol=1e-15)
    h = model.forward(inputs, state).hidden[0][:, 0]  # (B, H) h_1
    da = (true_grads["Why"] @ true_grads["by"]) * (1 - h**2)  # dL/dh from dWhy·dby
    assert np.allclose(grads["b0"], da.sum(axis=0), rtol=1e-12, atol=1e-15)
    assert np.allclose(grads["Wh0"], h.T @ da, rtol=1e-12, atol=1e-15)  # from h_t, not h_{t-1}
    assert np.all(true_grads["Wh0"] == 0) and np.abs(grads["Wh0"]).max() > 1e-4


def test_the_notebooks_rule_is_wrong_in_the_hidden_layer_and_right_in_the_read_out():
    model, inputs, targets, state = random_problem("rnn", 1, hidden_size=6, vocab_size=8, batch_size=2, steps=5, seed=1)
    report = worst_errors_by_matrix(model, inputs, targets, state, rules={"engine": engine_gradients, "notebook": notebook_loss_and_grads})
    for name in ("Wx0", "Wh0", "b0"):
        assert report[name]["errors"]["notebook"] > 0.1 and report[name]["errors"]["engine"] < 1e-6, name
    for name in ("Why", "by"):
        assert report[name]["errors"]["notebook"] < 1e-6 and report[name]["errors"]["engine"] < 1e-6, name


@pytest.mark.parametrize("cell,num_layers", [("lstm", 1), ("rnn", 2)])
def test_the_notebooks_rule_is_only_for_a_one_layer_rnn(cell, num_layers):
    model, inputs, targets, state = random_problem(cell, num_layers, steps=3)
    with pytest.raises(ValueError, match="one-layer plain RNN"):
        notebook_loss_and_grads(model, inputs, targets, state)


def test_the_matrix_report_checks_a_seeded_sample_of_each_large_matrix():
    model, inputs, targets, state = random_problem("lstm", 1, hidden_size=4, vocab_size=9, batch_size=2, steps=3, seed=0)
    first = worst_errors_by_matrix(model, inputs, targets, state, max_entries=10, seed=3)
    assert first == worst_errors_by_matrix(model, inputs, targets, state, max_entries=10, seed=3)
    assert {name: row["checked"] for name, row in first.items()} == {"Wx0": 10, "Wh0": 10, "b0": 10, "Why": 10, "by": 9}
    assert all(row["errors"]["engine"] < 1e-6 for row in first.values())


def test_the_matrix_report_wants_a_float64_model():
    model = CharRNN(5, 4)
    with pytest.raises(ValueError, match="float64"):
        worst_errors_by_matrix(model, np.zeros((1, 2), int), np.zeros((1, 2), int))
