"""Numerical checks of analytic gradients, in float64.

The numerical gradient is the five-point central difference, whose error shrinks as epsilon**4,
so rounding rather than truncation limits it. Relative error per entry:
|a - n| / max(|a| + |n|, 1e-6); the floor keeps entries near zero, where rounding of the loss
dominates, from reading as large relative errors. A right gradient scores about 1e-10, one of
the wrong sign 1.
"""

import numpy as np

from .model import CharRNN


def random_problem(cell="rnn", num_layers=1, hidden_size=6, vocab_size=5, batch_size=3, steps=5, bptt_horizon=None, seed=0):
    """(model, inputs, targets, state): a float64 model with every parameter drawn from N(0, 0.5²),
    a random window (B, T) of inputs and targets, and a random non-zero state, so that the state's
    path is checked too."""
    model = CharRNN(vocab_size, hidden_size, cell=cell, num_layers=num_layers, seed=seed, dtype=np.float64, bptt_horizon=bptt_horizon)
    rng = np.random.default_rng(seed + 1)
    for array in model.params.values():
        array[...] = rng.normal(0, 0.5, array.shape)
    inputs = rng.integers(0, vocab_size, (batch_size, steps))
    targets = rng.integers(0, vocab_size, (batch_size, steps))
    state = tuple(tuple(rng.normal(0, 0.5, (batch_size, hidden_size)) for _ in part) for part in model.initial_state(batch_size))
    return model, inputs, targets, state


def relative_errors(analytic, numeric):
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-6)


def numerical_derivative(model, flat, index, inputs, targets, state, epsilon=1e-3):
    """dL/d flat[index], where flat is a 1-D view of some of the model's parameters."""
    saved = flat[index]
    losses = []
    for shift in (2, 1, -1, -2):
        flat[index] = saved + shift * epsilon
        losses.append(model.loss(inputs, targets, state)[0])
    flat[index] = saved
    return (8 * (losses[1] - losses[2]) - (losses[0] - losses[3])) / (12 * epsilon)


def gradient_check(cell="rnn", num_layers=1, hidden_size=6, vocab_size=5, batch_size=3, steps=5, bptt_horizon=None, seed=0, epsilon=1e-3):
    """Worst relative error between the engine's analytic gradient and the numerical one, over every parameter."""
    model, inputs, targets, state = random_problem(cell, num_layers, hidden_size, vocab_size, batch_size, steps, bptt_horizon, seed)
    _, analytic, _ = model.loss_and_flat_grads(inputs, targets, state)
    numeric = np.array([numerical_derivative(model, model.flat_params, index, inputs, targets, state, epsilon) for index in range(analytic.size)])
    return float(relative_errors(analytic, numeric).max())


def engine_gradients(model, inputs, targets, state=None):
    """(loss, {name: gradient}) from the engine, as the rules of worst_errors_by_matrix give them."""
    loss, grads, _ = model.loss_and_grads(inputs, targets, state)
    return loss, grads


def entries_to_check(name, shape, inputs, max_entries, rng):
    """Flat indices of the entries of parameter `name` to compare: all of them, or max_entries drawn at random.

    Of the first layer's input matrix only the rows of characters in `inputs` are ever read: every
    other row's gradient is exactly zero, analytic and numerical, so only the rows read are candidates.
    """
    size = int(np.prod(shape))
    candidates = np.arange(size)
    if name == "Wx0":
        width = shape[1]
        candidates = (np.unique(inputs)[:, None] * width + np.arange(width)).reshape(-1)
    if max_entries is not None and candidates.size > max_entries:
        candidates = np.sort(rng.choice(candidates, max_entries, replace=False))
    return candidates


def worst_errors_by_matrix(model, inputs, targets, state=None, rules=None, max_entries=None, seed=0, epsilon=1e-3):
    """For each parameter matrix, the worst relative error of each rule's gradient against the numerical one.

    model: a float64 CharRNN, small (every entry checked costs four evaluations of the loss);
    inputs, targets (B, T); state as for model.loss. rules: {label: function(model, inputs, targets,
    state) -> (loss, {name: gradient})}, by default {"engine": engine_gradients}. With max_entries,
    each matrix has at most that many of its entries checked, drawn with `seed`.
    Returns {name: {"shape", "size", "checked", "errors": {label: worst relative error}}}.
    A model with a bptt_horizon gives the engine's truncated gradient, which is not the loss's.
    """
    if model.dtype != np.float64:
        raise ValueError("a numerical gradient needs a float64 model: float32 rounding would swamp it")
    rules = rules or {"engine": engine_gradients}
    gradients = {label: rule(model, inputs, targets, state)[1] for label, rule in rules.items()}
    rng = np.random.default_rng(seed)
    report = {}
    for name, array in model.params.items():
        checked = entries_to_check(name, array.shape, inputs, max_entries, rng)
        flat = array.reshape(-1)  # a view: perturbing it perturbs the model
        numeric = np.array([numerical_derivative(model, flat, index, inputs, targets, state, epsilon) for index in checked])
        errors = {label: float(relative_errors(grads[name].reshape(-1)[checked], numeric).max(initial=0.0)) for label, grads in gradients.items()}
        report[name] = {"shape": array.shape, "size": array.size, "checked": checked.size, "errors": errors}
    return report
