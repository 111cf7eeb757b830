"""Numerical check of the analytic gradient, in float64."""

import numpy as np

from .model import CharRNN


def gradient_check(cell="rnn", num_layers=1, hidden_size=6, vocab_size=5, batch_size=3, steps=5, bptt_horizon=None, seed=0, epsilon=1e-3):
    """Worst relative error between analytic and numerical gradients over every parameter.

    The numerical gradient is the five-point central difference, whose error shrinks as
    epsilon**4, so rounding rather than truncation limits it.

    Builds a float64 model with a random non-zero initial state, so the state path is checked too.
    Relative error per entry: |a - n| / max(|a| + |n|, 1e-6); the floor keeps entries near zero,
    where rounding of the loss dominates, from reading as large relative errors.
    """
    model = CharRNN(vocab_size, hidden_size, cell=cell, num_layers=num_layers, seed=seed, dtype=np.float64, bptt_horizon=bptt_horizon)
    rng = np.random.default_rng(seed + 1)
    for array in model.params.values():
        array[...] = rng.normal(0, 0.5, array.shape)
    inputs = rng.integers(0, vocab_size, (batch_size, steps))
    targets = rng.integers(0, vocab_size, (batch_size, steps))
    state = tuple(tuple(rng.normal(0, 0.5, (batch_size, hidden_size)) for _ in part) for part in model.initial_state(batch_size))
    _, analytic, _ = model.loss_and_flat_grads(inputs, targets, state)
    numeric = np.empty_like(analytic)
    flat = model.flat_params
    for index in range(flat.size):
        saved = flat[index]
        losses = []
        for shift in (2, 1, -1, -2):
            flat[index] = saved + shift * epsilon
            losses.append(model.loss(inputs, targets, state)[0])
        flat[index] = saved
        numeric[index] = (8 * (losses[1] - losses[2]) - (losses[0] - losses[3])) / (12 * epsilon)
    errors = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-6)
    return float(errors.max())
