import numpy as np
import pytest

from rnn_core import CharRNN


def test_embedding_lookup_equals_one_hot_product():
    model = CharRNN(7, 5, "rnn", dtype=np.float64)
    ids = np.array([[0, 3, 6, 3], [1, 2, 5, 4]])  # (B, T)
    one_hot = np.eye(7)[ids]  # (B, T, V)
    np.testing.assert_allclose(model.params["Wx0"][ids], one_hot @ model.params["Wx0"], rtol=0, atol=1e-15)


@pytest.mark.parametrize("cell,gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_params_grads_and_state_shapes(cell, gates):
    model = CharRNN(11, 8, cell, num_layers=2)
    assert model.params["Wx0"].shape == (11, gates * 8)
    assert model.params["Wx1"].shape == (8, gates * 8)
    assert model.params["Why"].shape == (8, 11)
    assert all(array.dtype == np.float32 for array in model.params.values())
    state = model.initial_state(3)
    assert len(state) == 2 and all(part.shape == (3, 8) for layer in state for part in layer)
    assert len(state[0]) == (2 if cell == "lstm" else 1)
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, 11, (3, 6)), rng.integers(0, 11, (3, 6))
    loss, grads, new_state = model.loss_and_grads(inputs, targets, state)
    assert grads.keys() == model.params.keys()
    assert all(grads[name].shape == model.params[name].shape for name in grads)
    assert abs(loss - np.log(11)) < 0.5  # an untrained model is close to uniform
    assert new_state[1][0].shape == (3, 8) and not np.allclose(new_state[1][0], 0)


def test_params_are_updated_in_place_through_the_dict():
    model = CharRNN(4, 3)
    model.params["Why"][0, 0] = 42.0
    assert 42.0 in model.flat_params


def test_forward_returns_probabilities_and_hidden_activations():
    model = CharRNN(6, 4, "lstm", num_layers=2)
    result = model.forward(np.array([[0, 1, 2, 3, 4]]))
    assert result.probs.shape == (1, 5, 6)
    np.testing.assert_allclose(result.probs.sum(-1), 1, rtol=1e-5)
    assert result.hidden.shape == (2, 1, 5, 4)
    np.testing.assert_array_equal(result.hidden[-1, :, -1], result.state[-1][0])


def test_state_carries_over_between_windows():
    model = CharRNN(5, 6, "gru", dtype=np.float64)
    ids = np.array([[0, 1, 2, 3, 4, 0, 1, 2]])
    whole = model.forward(ids).probs
    first = model.forward(ids[:, :3])
    second = model.forward(ids[:, 3:], first.state).probs
    np.testing.assert_allclose(np.concatenate([first.probs, second], axis=1), whole, rtol=1e-12)


def test_diagnostics_give_step_losses_and_hidden_gradient_norms():
    model = CharRNN(5, 6, "rnn", num_layers=2, dtype=np.float64)
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, 5, (2, 7)), rng.integers(0, 5, (2, 7))
    loss, grads, _, details = model.loss_and_grads(inputs, targets, diagnostics=True)
    assert details["step_losses"].shape == (7,)
    np.testing.assert_allclose(details["step_losses"].mean(), loss)
    norms = details["hidden_grad_norms"]
    assert norms.shape == (2, 7) and np.all(norms > 0)
    # the last step's hidden state gets gradient only from the last step's loss
    probs = model.forward(inputs).probs[:, -1]  # (B, V)
    probs[np.arange(2), targets[:, -1]] -= 1
    expected = np.linalg.norm(probs / 14 @ model.params["Why"].T)
    np.testing.assert_allclose(norms[1, -1], expected, rtol=1e-10)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"vocab_size": 0, "hidden_size": 4}, "vocab_size"),
        ({"vocab_size": 4, "hidden_size": -1}, "hidden_size"),
        ({"vocab_size": 4, "hidden_size": 4, "num_layers": 0}, "num_layers"),
        ({"vocab_size": 4, "hidden_size": 4, "cell": "transformer"}, "unknown cell"),
        ({"vocab_size": 4, "hidden_size": 2.5}, "hidden_size"),
        ({"vocab_size": 4, "hidden_size": 4, "bptt_horizon": -2}, "bptt_horizon"),
    ],
)
def test_bad_model_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CharRNN(**kwargs)


def test_out_of_range_ids_are_refused():
    model = CharRNN(4, 3)
    with pytest.raises(ValueError, match="outside"):
        model.loss_and_grads(np.array([[0, 4]]), np.array([[1, 2]]))
