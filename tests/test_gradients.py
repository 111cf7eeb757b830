import numpy as np
import pytest

from rnn_core import CharRNN, gradient_check


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_gradient_check_default_configuration(cell, num_layers):
    assert gradient_check(cell, num_layers) < 1e-6


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradient_check_other_sizes(cell):
    worst = gradient_check(cell, 2, hidden_size=9, vocab_size=7, batch_size=2, steps=8, seed=3)
    assert worst < 1e-6


def test_gradient_check_detects_a_wrong_gradient(monkeypatch):
    # a check that cannot fail checks nothing: break the read-out gradient and watch it fail
    original = CharRNN.loss_and_flat_grads

    def broken(self, *args, **kwargs):
        loss, grads, state = original(self, *args, **kwargs)
        self._views(grads)["Why"] *= 1.01
        return loss, grads, state

    monkeypatch.setattr(CharRNN, "loss_and_flat_grads", broken)
    assert gradient_check("rnn", 1) > 1e-3


def _manual_truncated_rnn_grads(model, inputs, targets, horizon):
    """Reference: each step's loss backpropagated at most `horizon` steps, one loss at a time."""
    p = model.params
    batch_size, steps = inputs.shape
    hs = [np.zeros((batch_size, model.hidden_size))]
    for t in range(steps):
        hs.append(np.tanh(p["Wx0"][inputs[:, t]] + p["b0"] + hs[-1] @ p["Wh0"]))
    grads = {name: np.zeros_like(value) for name, value in p.items()}
    count = batch_size * steps
    for t in range(steps):
        logits = hs[t + 1] @ p["Why"] + p["by"]
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        probs[np.arange(batch_size), targets[:, t]] -= 1
        d_logits = probs / count
        grads["Why"] += hs[t + 1].T @ d_logits
        grads["by"] += d_logits.sum(0)
        dh = d_logits @ p["Why"].T
        for s in range(t, max(t - horizon, -1), -1):
            d_pre = dh * (1 - hs[s + 1] ** 2)
            grads["Wh0"] += hs[s].T @ d_pre
            grads["b0"] += d_pre.sum(0)
            np.add.at(grads["Wx0"], inputs[:, s], d_pre)
            dh = d_pre @ p["Wh0"].T
    return grads


@pytest.mark.parametrize("horizon", [1, 2, 3])
def test_bptt_horizon_stops_each_loss_after_k_steps(horizon):
    model = CharRNN(5, 4, "rnn", seed=2, dtype=np.float64, bptt_horizon=horizon)
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, 5, (2, 6)), rng.integers(0, 5, (2, 6))
    _, grads, _ = model.loss_and_grads(inputs, targets)
    expected = _manual_truncated_rnn_grads(model, inputs, targets, horizon)
    for name in grads:
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_horizon_at_least_the_window_is_full_bptt(cell):
    rng = np.random.default_rng(1)
    inputs, targets = rng.integers(0, 6, (3, 5)), rng.integers(0, 6, (3, 5))
    full = CharRNN(6, 5, cell, num_layers=2, dtype=np.float64)
    long_horizon = CharRNN(6, 5, cell, num_layers=2, dtype=np.float64, bptt_horizon=5)
    _, g_full, _ = full.loss_and_grads(inputs, targets)
    _, g_long, _ = long_horizon.loss_and_grads(inputs, targets)
    for name in g_full:
        np.testing.assert_array_equal(g_full[name], g_long[name])


def _numerical_truncated_grads(model, inputs, targets, horizon, epsilon=1e-3):
    """Reference: d/dθ of mean_t CE_t, where step t's loss sees the state k steps back as a constant."""
    batch_size, steps = inputs.shape
    flat = model.flat_params
    original = flat.copy()
    frozen = []
    for t in range(steps):
        start = max(t - horizon + 1, 0)
        frozen.append(model.forward(inputs[:, :start]).state if start > 0 else None)

    def loss_at(t):
        start = max(t - horizon + 1, 0)
        probs = model.forward(inputs[:, start : t + 1], frozen[t]).probs[:, -1]
        return -np.log(probs[np.arange(batch_size), targets[:, t]]).mean() / steps

    numeric = np.zeros_like(flat)
    for index in range(flat.size):
        for shift, weight in ((2, -1), (1, 8), (-1, -8), (-2, 1)):
            flat[index] = original[index] + shift * epsilon
            numeric[index] += weight * sum(loss_at(t) for t in range(steps)) / (12 * epsilon)
        flat[index] = original[index]
    return numeric


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("horizon", [1, 2])
def test_bptt_horizon_matches_numerical_truncated_gradient(cell, horizon):
    model = CharRNN(4, 3, cell, num_layers=2, seed=5, dtype=np.float64, bptt_horizon=horizon)
    rng = np.random.default_rng(2)
    inputs, targets = rng.integers(0, 4, (2, 5)), rng.integers(0, 4, (2, 5))
    _, analytic, _ = model.loss_and_flat_grads(inputs, targets)
    numeric = _numerical_truncated_grads(model, inputs, targets, horizon)
    errors = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-6)
    assert errors.max() < 1e-6
    full = CharRNN(4, 3, cell, num_layers=2, seed=5, dtype=np.float64)
    assert not np.allclose(full.loss_and_flat_grads(inputs, targets)[1], analytic)
