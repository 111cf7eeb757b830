"""What the network looks back at: how strongly each earlier character sways one prediction."""

import copy
from dataclasses import dataclass

import numpy as np

from .model import check_positive_int


@dataclass
class Attribution:
    """The sensitivity of one prediction to each character read before it."""

    positions: np.ndarray  # (T,) indices into ids of the characters read, the last one is `position`
    norms: np.ndarray  # (T,) float64 norm of d log p(target) / d input, for the input at each position
    target: int  # the id that actually comes next, ids[position + 1]
    probability: float  # the model's probability of the target


def input_attribution(model, ids, position, lookback=100):
    """How much each of the last `lookback` inputs up to ids[position] moves log p(ids[position + 1]).

    ids (N,) ints; position indexes the last character read and must have a next character. The
    network starts from a zero state `lookback` characters before it (at the start of ids if that
    is nearer), so earlier characters count as not seen. The character at positions[i] enters
    the network as the row Wx0[ids[positions[i]]] (G*H,), and norms[i] is the length of the
    gradient of log p with respect to that input, from one backward pass through the whole
    window. Training settings do not apply: a bptt_horizon does not cut the gradient short and
    no units are dropped, as in sampling.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.size < 2:
        raise ValueError("the text must be an (N,) array of at least 2 character ids")
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)) or not 0 <= position <= ids.size - 2:
        raise ValueError(f"the position must be a whole number from 0 to {ids.size - 2} (it needs a next character), not {position!r}")
    lookback = check_positive_int("lookback", lookback)
    start = max(0, position + 1 - lookback)
    window = model._check_ids(ids[None, start : position + 2], "the text")  # (1, T + 1)
    inputs, target = window[:, :-1], int(window[0, -1])

    full = copy.copy(model)  # shares the weights; its own horizon and reusable arrays
    full.bptt_horizon = None
    logits, top, layer_inputs, caches, _ = full._run(inputs, None, training=True)  # logits (T, V)
    probs, _ = full._softmax(logits[-1:])  # (1, V): only the last step's prediction is explained
    d_logits = np.zeros_like(logits)  # (T, V) gradient of -log p(target)
    d_logits[-1] = probs[0]
    d_logits[-1, target] -= 1
    grads = full.split(np.empty_like(full.flat_params))
    d_inputs = full._backward(d_logits, top, layer_inputs, caches, inputs, grads)  # (T, 1, G*H)
    norms = np.sqrt(np.einsum("tk,tk->t", d_inputs[:, 0], d_inputs[:, 0], dtype=np.float64))
    return Attribution(np.arange(start, position + 1), norms, target, float(probs[0, target]))
