"""The maths of rnn_core in plain code: each cell's step forward and back, the read-out, the loss,
and truncated backpropagation through time as an explicit loop.

One equation per line; the numbers in the comments are those of the equations on the app's How it
works page. Everything is float64 and nothing is reused or fused, so this is slow on purpose: it is
the definition the fast engine (model.py, cells.py) is checked against, to 1e-10, in
tests/test_reference.py.

Shapes: B sequences side by side, T steps, V characters, H hidden units, I a layer's input width
(V for the first layer, H above it). Vectors are rows, so a batch of them is a (B, ...) matrix.
"""

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def one_hot(ids, size):
    """ids (B,) -> (B, size): row b is 1 in column ids[b], 0 elsewhere."""
    return np.eye(size)[ids]


def rnn_forward(x, state, params):
    """One step of the plain RNN.

    x (B, I): the layer's input. state: (h_prev,), (B, H).
    params: "Wx" (I, H), "Wh" (H, H), "b" (H,).
    Returns the new state (h,) and what the step back needs.
    """
    (h_prev,) = state
    a = x @ params["Wx"] + params["b"] + h_prev @ params["Wh"]  # (6)
    h = np.tanh(a)  # (7)
    return (h,), dict(x=x, h_prev=h_prev, h=h)


def rnn_backward(d_state, saved, params, grads):
    """One step back.

    d_state: (dh,), dL/dh_t (B, H). saved: from rnn_forward.
    Adds this step's share of each gradient to grads.
    Returns dL/dx_t (B, I) and (dL/dh_{t-1},).
    """
    (dh,) = d_state
    da = dh * (1 - saved["h"] ** 2)  # (8)
    grads["Wx"] += saved["x"].T @ da  # (9)
    grads["b"] += da.sum(axis=0)  # (9)
    grads["Wh"] += saved["h_prev"].T @ da  # (9)
    dx = da @ params["Wx"].T  # (10)
    dh_prev = da @ params["Wh"].T  # (11)
    return dx, (dh_prev,)


def lstm_forward(x, state, params):
    """One step of the LSTM.

    x (B, I). state: (h_prev, c_prev), each (B, H).
    params: "Wx" (I, 4H), "Wh" (H, 4H), "b" (4H,), the gates
    stacked in the order i, f, o, g.
    Returns the new state (h, c) and what the step back needs.
    """
    h_prev, c_prev = state
    a = x @ params["Wx"] + params["b"] + h_prev @ params["Wh"]  # (6)
    a_i, a_f, a_o, a_g = np.split(a, 4, axis=1)  # (6)
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)  # (7)
    g = np.tanh(a_g)  # (8)
    c = f * c_prev + i * g  # (9)
    h = o * np.tanh(c)  # (10)
    saved = dict(x=x, h_prev=h_prev, c_prev=c_prev, c=c, i=i, f=f, o=o, g=g)
    return (h, c), saved


def lstm_backward(d_state, saved, params, grads):
    """One step back.

    d_state: (dh, dc), each (B, H): dL/dh_t, and what (19)
    carried back to c_t from step t+1. saved: from lstm_forward.
    Adds this step's share of each gradient to grads.
    Returns dL/dx_t (B, I) and (dL/dh_{t-1}, dL/dc_{t-1}).
    """
    dh, dc = d_state
    x, h_prev = saved["x"], saved["h_prev"]
    c_prev, c = saved["c_prev"], saved["c"]
    i, f, o, g = saved["i"], saved["f"], saved["o"], saved["g"]
    do = dh * np.tanh(c)  # (11)
    dc = dc + dh * o * (1 - np.tanh(c) ** 2)  # (12)
    di, df, dg = dc * g, dc * c_prev, dc * i  # (13)
    da_i = di * i * (1 - i)  # (14)
    da_f = df * f * (1 - f)  # (14)
    da_o = do * o * (1 - o)  # (14)
    da_g = dg * (1 - g**2)  # (15)
    da = np.concatenate([da_i, da_f, da_o, da_g], axis=1)  # (16)
    grads["Wx"] += x.T @ da  # (16)
    grads["b"] += da.sum(axis=0)  # (16)
    grads["Wh"] += h_prev.T @ da  # (16)
    dx = da @ params["Wx"].T  # (17)
    dh_prev = da @ params["Wh"].T  # (18)
    dc_prev = dc * f  # (19)
    return dx, (dh_prev, dc_prev)


def gru_forward(x, state, params):
    """One step of the GRU, in PyTorch's form: the reset gate
    scales h_{t-1} W_hn + b_hn.

    x (B, I). state: (h_prev,), (B, H).
    params: "Wx" (I, 3H), "Wh" (H, 3H), "b" (3H,), "bhn" (H,),
    the gates stacked in the order r, z, n.
    Returns the new state (h,) and what the step back needs.
    """
    (h_prev,) = state
    u = x @ params["Wx"] + params["b"]  # (6)
    u_r, u_z, u_n = np.split(u, 3, axis=1)  # (6)
    v = h_prev @ params["Wh"]  # (7)
    v_r, v_z, v_n = np.split(v, 3, axis=1)  # (7)
    r, z = sigmoid(u_r + v_r), sigmoid(u_z + v_z)  # (8)
    n = np.tanh(u_n + r * (v_n + params["bhn"]))  # (9)
    h = (1 - z) * n + z * h_prev  # (10)
    return (h,), dict(x=x, h_prev=h_prev, v_n=v_n, r=r, z=z, n=n)


def gru_backward(d_state, saved, params, grads):
    """One step back.

    d_state: (dh,), dL/dh_t (B, H). saved: from gru_forward.
    Adds this step's share of each gradient to grads.
    Returns dL/dx_t (B, I) and (dL/dh_{t-1},).
    """
    (dh,) = d_state
    x, h_prev, v_n = saved["x"], saved["h_prev"], saved["v_n"]
    r, z, n = saved["r"], saved["z"], saved["n"]
    dn = dh * (1 - z)  # (11)
    dz = dh * (h_prev - n)  # (11)
    du_n = dn * (1 - n**2)  # (12)
    dr = du_n * (v_n + params["bhn"])  # (13)
    du_r = dr * r * (1 - r)  # (14)
    du_z = dz * z * (1 - z)  # (14)
    dv_r, dv_z, dv_n = du_r, du_z, du_n * r  # (15)
    du = np.concatenate([du_r, du_z, du_n], axis=1)  # (16)
    dv = np.concatenate([dv_r, dv_z, dv_n], axis=1)  # (16)
    grads["Wx"] += x.T @ du  # (16)
    grads["b"] += du.sum(axis=0)  # (16)
    grads["Wh"] += h_prev.T @ dv  # (16)
    grads["bhn"] += dv_n.sum(axis=0)  # (16)
    dx = du @ params["Wx"].T  # (17)
    dh_prev = dh * z + dv @ params["Wh"].T  # (18)
    return dx, (dh_prev,)


CELLS = {
    "rnn": (rnn_forward, rnn_backward),
    "lstm": (lstm_forward, lstm_backward),
    "gru": (gru_forward, gru_backward),
}


def readout_forward(h, targets, params, count):
    """The read-out at one step.

    h (B, H): the top layer's h_t. targets (B,): the next
    characters. count = B * T, the characters of the window.
    Returns p (B, V) and this step's share of the loss.
    """
    logits = h @ params["Why"] + params["by"]  # (1)
    # (1) less each row's largest logit, so that exp cannot
    # overflow; the shift cancels in the division
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)  # (1)
    rows = np.arange(len(targets))
    loss = -np.log(p[rows, targets]).sum() / count  # (2)
    return p, loss


def readout_backward(p, h, targets, params, grads, count):
    """The read-out at one step, back.

    p (B, V), h (B, H), targets (B,), count: as in readout_forward.
    Adds this step's share of each gradient to grads.
    Returns dL/dh_t (B, H).
    """
    dy = (p - one_hot(targets, p.shape[1])) / count  # (3)
    grads["Why"] += h.T @ dy  # (4)
    grads["by"] += dy.sum(axis=0)  # (4)
    return dy @ params["Why"].T  # (5)


def layer_view(arrays, layer):
    """One layer's arrays under plain names ("Wx", "Wh", "b", and "bhn" for the GRU)
    from arrays under a model's names ("Wx0", "Wh0", ...)."""
    return {name: arrays[f"{name}{layer}"] for name in ("Wx", "Wh", "b", "bhn") if f"{name}{layer}" in arrays}


def float64_params(model):
    """A float64 copy of a CharRNN's parameters, name -> array; refused for a model with dropout."""
    if model.dropout:
        # with dropout the loss depends on random masks: there is no one loss to define here
        raise ValueError("the reference has no dropout: give it a model with dropout=0")
    return {name: np.array(value, dtype=np.float64) for name, value in model.params.items()}


def reference_loss_and_grads(model, inputs, targets, state=None):
    """The loss of a CharRNN over one window and its gradient, as model.loss_and_grads has them.

    inputs, targets: (B, T) integer arrays of character ids; targets[:, t] follows inputs[:, t].
    state: the state before the window, per layer a tuple of (B, H) arrays (h, and c for the
    LSTM), as model.initial_state(B) makes them; None is zeros. The model's bptt_horizon, when
    set, cuts each loss's gradient that many steps back.
    Returns (loss, {parameter name: gradient}), in float64.
    """
    forward_step, backward_step = CELLS[model.cell_name]
    params = float64_params(model)
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    layers = range(model.num_layers)
    layer_params = [layer_view(params, layer) for layer in layers]
    layer_grads = [layer_view(grads, layer) for layer in layers]  # adding to them adds to grads
    batch_size, steps = inputs.shape
    count = batch_size * steps
    if state is None:
        state = model.initial_state(batch_size)
    states = [tuple(np.array(part, dtype=np.float64) for part in parts) for parts in state]

    saved = []  # saved[t][layer]: what that layer's step back at t needs
    tops, probs = [], []  # the top layer's h_t and the read-out's p_t, each step
    loss = 0.0
    for t in range(steps):
        x = one_hot(inputs[:, t], model.vocab_size)  # the first layer reads a one-hot row
        saved.append([])
        for layer in layers:
            states[layer], step_saved = forward_step(x, states[layer], layer_params[layer])
            saved[t].append(step_saved)
            x = states[layer][0]  # the layer above reads this layer's h_t
        p, step_loss = readout_forward(x, targets[:, t], params, count)
        tops.append(x)
        probs.append(p)
        loss += step_loss

    # Back through time one loss at a time: the loss at step loss_step reaches steps
    # loss_step, loss_step - 1, ... back to `first`, in every layer, and no further.
    horizon = model.bptt_horizon or steps
    for loss_step in range(steps):
        first = max(0, loss_step - horizon + 1)
        dh = readout_backward(
            probs[loss_step], tops[loss_step], targets[:, loss_step], params, grads, count
        )
        d_from_above = {loss_step: dh}  # step -> dL/dh there, from above
        for layer in reversed(layers):
            # nothing of this loss comes back from the steps after its own
            d_state = tuple(np.zeros_like(part) for part in states[layer])
            d_below = {}
            for t in range(loss_step, first - 1, -1):
                d_state = (d_state[0] + d_from_above.get(t, 0), *d_state[1:])  # (5)
                d_below[t], d_state = backward_step(
                    d_state, saved[t][layer], layer_params[layer], layer_grads[layer]
                )
            d_from_above = d_below  # (5) this layer's dL/dx_t is dL/dh_t of the layer below
    return loss, grads
