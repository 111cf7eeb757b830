"""The update rule of the notebook this project began from, with its mistakes.

The notebook trained a one-layer numpy RNN on "help" -> "elp!". Its code is not kept: this rule is
reconstructed from the description of its backward pass, which had three mistakes:

1. no backpropagation through time: each step's gradient stops at that step's hidden state;
2. dWhh computed from the wrong hidden state: h_t where h_{t-1} belongs;
3. dL/dh taken from dWhy·dby, the gradients of the output layer's weights, instead of dy·Why^T.

The forward pass was right, so it is the reference's (reference.py). The details the description
leaves open are filled in as a min-char-rnn-style loop would have them: the steps are visited last
to first, and dWhy, dby are the sums accumulated so far. The loss is CharRNN's (the mean over the
window) and the parameters are laid out as CharRNN(cell="rnn") lays them out, so these "gradients"
can be set beside the true ones: the three mistakes are the only difference.
"""

import numpy as np

from .reference import float64_params, layer_view, one_hot, readout_forward, rnn_forward


def notebook_loss_and_grads(model, inputs, targets, state=None):
    """The loss of a one-layer plain-RNN CharRNN over one window and the notebook's "gradient".

    inputs, targets: (B, T) integer arrays; state: ((h,),) with h (B, H), or None for zeros.
    Returns (loss, {parameter name: what the notebook used as its gradient}).
    """
    if model.cell_name != "rnn" or model.num_layers != 1:
        raise ValueError("the notebook's rule is for a one-layer plain RNN")
    params = float64_params(model)
    layer = layer_view(params, 0)
    batch_size, steps = inputs.shape
    count = batch_size * steps
    if state is None:
        state = model.initial_state(batch_size)
    hidden = (np.array(state[0][0], dtype=np.float64),)

    saved, probs = [], []
    loss = 0.0
    for t in range(steps):
        hidden, step_saved = rnn_forward(one_hot(inputs[:, t], model.vocab_size), hidden, layer)
        p, step_loss = readout_forward(hidden[0], targets[:, t], params, count)
        saved.append(step_saved)
        probs.append(p)
        loss += step_loss

    grads = {name: np.zeros_like(value) for name, value in params.items()}
    for t in reversed(range(steps)):
        x, h = saved[t]["x"], saved[t]["h"]
        dy = (probs[t] - one_hot(targets[:, t], model.vocab_size)) / count
        grads["Why"] += h.T @ dy
        grads["by"] += dy.sum(axis=0)
        dh = grads["Why"] @ grads["by"]  # mistake 3: (H,), the same for every sequence, where dy @ Why.T belongs
        da = dh * (1 - h**2)  # mistake 1: dh holds nothing from step t+1
        grads["Wx0"] += x.T @ da
        grads["b0"] += da.sum(axis=0)
        grads["Wh0"] += h.T @ da  # mistake 2: h_t, where h_{t-1} belongs
    return loss, grads
