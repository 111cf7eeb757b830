"""Recurrent cells: the time loop of one layer over a window, forward and backward.

Arrays are time-major so that each step reads and writes contiguous memory:
inputs are already projected (`x @ Wx + b`, one matmul for the whole window, done by
the model) and have shape (T, B, G*H) for a cell with G gates; the cell may overwrite them.
Large arrays come from `scratch(name, shape)` (see workspace.py) and are valid until the
next call with the same scratch.

Backward passes carry the gradient flowing into each hidden state in an `Ages` stack. With
full backpropagation through time every gradient is summed in one slot. With a horizon of
k steps the gradient of the loss at step t is kept in slot t - s while it flows back
through step s, and is dropped when it would pass k steps back; in a stack of layers the
slots pass down to the layer below, so no loss reaches more than k steps back in any layer.
"""

import numpy as np


class Ages:
    """Gradient slots by age: (B, H) for full BPTT (every age summed), else (A, B, H), A the horizon.

    d_outputs is (T, B, H), or (A, T, B, H) split by age when it comes from a truncated layer
    above. With by_age the results are kept split, (A, T, B, W), for the layer below.
    """

    def __init__(self, horizon, d_outputs, by_age, scratch):
        steps, batch_size, hidden_size = d_outputs.shape[-3:]
        self.scratch = scratch
        self.full = horizon is None or horizon >= steps
        self.count = 1 if self.full else horizon
        self.by_age = by_age and not self.full
        self.steps, self.batch_size, self.dtype = steps, batch_size, d_outputs.dtype
        self.shape = (batch_size, hidden_size) if self.full else (self.count, batch_size, hidden_size)

    def zeros(self, name):
        carried = self.scratch(name, self.shape)
        carried[...] = 0
        return carried

    def output(self, name, width):
        """An array for one per-step result: (T, B, W), or (A, T, B, W) by age."""
        shape = (self.steps, self.batch_size, width)
        return self.scratch(name, (self.count, *shape) if self.by_age else shape)

    def slots(self, out, t):
        """Where the per-age results of step t go: a view of `out` where possible."""
        if self.full:
            return out[t]
        if self.by_age:
            return out[:, t]
        if self.count == 1:
            return out[t][None]
        return np.empty((self.count, *out.shape[1:]), self.dtype)

    def collect(self, slots, out, t):
        """Sum the per-age results of step t into out[t] unless they are kept by age."""
        if self.count > 1 and not self.by_age:
            np.sum(slots, axis=0, out=out[t])

    def total(self, out):
        """(T, B, W): the result summed over ages."""
        return out.sum(axis=0) if self.by_age else out

    def record(self, carried, hidden_grads, t):
        """hidden_grads[t] (B, H) <- dL/dh_t, when it is asked for."""
        if hidden_grads is not None:
            if self.full:
                hidden_grads[t] = carried
            else:
                np.sum(carried, axis=0, out=hidden_grads[t])

    def inject(self, carried, d_outputs, t):
        """Gradient into h_t: what came back from later steps plus what arrives from above at t."""
        if self.full:
            carried += d_outputs[t]
        elif d_outputs.ndim == 4:
            carried[0] = d_outputs[0, t]
            carried[1:] += d_outputs[1:, t]
        else:
            carried[0] = d_outputs[t]

    def pass_back(self, slots, weight_t, carried):
        """carried <- slots @ weight_t, each age moving one slot older; the oldest is dropped."""
        if self.full:
            np.dot(slots, weight_t, out=carried)
        else:
            np.matmul(slots[:-1], weight_t, out=carried[1:])

    def scale_back(self, slots, factor_t, carried):
        """carried <- slots * factor_t, each age one slot older (the LSTM cell-state path)."""
        if self.full:
            np.multiply(slots, factor_t, out=carried)
        else:
            np.multiply(slots[:-1], factor_t, out=carried[1:])
            carried[0] = 0


def transposed(matrix, scratch):
    """A contiguous copy of matrix.T: BLAS multiplies by it faster than by a transposed view."""
    copy = scratch("transposed", matrix.shape[::-1])
    np.copyto(copy, matrix.T)
    return copy


def scaled(matrix, scale, scratch):
    """matrix * scale, in a reused array."""
    return np.multiply(matrix, scale, out=scratch("scaled", matrix.shape))


def tanh_scale(sigmoid_units, tanh_units, dtype):
    """(S + T,) factors: 1/2 for sigmoid gates, 1 for tanh ones, so one tanh call covers all gates."""
    return np.concatenate([np.full(sigmoid_units, 0.5), np.ones(tanh_units)]).astype(dtype)


def _sigmoid_from_tanh(values):
    """In place: tanh(z / 2) -> sigmoid(z), since sigmoid(z) = (1 + tanh(z / 2)) / 2."""
    values *= 0.5
    values += 0.5


class RNNCell:
    """h_t = tanh(x_t Wx + b + h_{t-1} Wh)."""

    name = "rnn"
    gates = 1
    state_size = 1

    def extra_param_shapes(self, hidden_size):
        return {}

    def forward(self, projected, state, Wh, extra, scratch, training=False):
        """projected (T, B, H), state ((B, H),) -> outputs (T, B, H), cache, new state."""
        steps, batch_size, hidden_size = projected.shape
        hs = scratch("hs", (steps + 1, batch_size, hidden_size))
        hs[0] = state[0]
        for t in range(steps):
            np.dot(hs[t], Wh, out=hs[t + 1])
            hs[t + 1] += projected[t]
            np.tanh(hs[t + 1], out=hs[t + 1])
        return hs[1:], hs, (hs[steps].copy(),)

    def backward(self, d_outputs, hs, Wh, extra, grads, horizon, hidden_grads, scratch, by_age=False):
        """d_outputs (T, B, H) -> d_projected (T, B, H); writes grads["Wh"] (H, H).

        hidden_grads, when given, (T, B, H) receives dL/dh_t. With a horizon, d_outputs and,
        when by_age, d_projected may carry a leading age axis (see Ages).
        """
        steps, batch_size, hidden_size = d_outputs.shape[-3:]
        ages = Ages(horizon, d_outputs, by_age, scratch)
        d_pre = ages.output("d_pre", hidden_size)  # gradient before the tanh
        d_tanh = scratch("d_tanh", d_outputs.shape[-3:])  # (T, B, H)
        np.multiply(hs[1:], hs[1:], out=d_tanh)
        np.subtract(1, d_tanh, out=d_tanh)
        Wh_T = transposed(Wh, scratch)
        dh = ages.zeros("dh")  # (A, B, H)
        for t in reversed(range(steps)):
            ages.inject(dh, d_outputs, t)
            ages.record(dh, hidden_grads, t)
            slots = ages.slots(d_pre, t)
            np.multiply(dh, d_tanh[t], out=slots)
            ages.collect(slots, d_pre, t)
            ages.pass_back(slots, Wh_T, dh)
        flat = steps * batch_size
        np.dot(hs[:-1].reshape(flat, hidden_size).T, ages.total(d_pre).reshape(flat, hidden_size), out=grads["Wh"])
        return d_pre


class LSTMCell:
    """Gates [i, f, o, g] stacked along the last axis: c_t = f c_{t-1} + i g, h_t = o tanh(c_t)."""

    name = "lstm"
    gates = 4
    state_size = 2

    def extra_param_shapes(self, hidden_size):
        return {}

    def forward(self, projected, state, Wh, extra, scratch, training=False):
        """projected (T, B, 4H), state ((B, H), (B, H)) -> outputs (T, B, H), cache, new state.

        With training, the local derivatives the backward pass needs are computed at each step,
        while the gate values are still in cache.
        """
        steps, batch_size, width = projected.shape
        H = width // 4
        scale = tanh_scale(3 * H, H, projected.dtype)
        scaled_inputs = projected
        scaled_inputs *= scale  # (T, B, 4H)
        scaled_Wh = scaled(Wh, scale, scratch)  # (H, 4H)
        acts = scratch("acts", projected.shape)  # (T, B, 4H) gate values i, f, o, g
        hs = scratch("hs", (steps + 1, batch_size, H))
        cs = scratch("cs", (steps + 1, batch_size, H))
        tanh_cs = scratch("tanh_cs", (steps, batch_size, H))
        recurrent = scratch("recurrent", (batch_size, width))  # small and reused: stays in cache
        input_term = scratch("input_term", (batch_size, H))
        # d(gate pre-activation) = local * (dc, dc, dh, dc): g i(1-i), c_prev f(1-f), tanh(c) o(1-o), i (1-g^2)
        local = scratch("local", projected.shape) if training else None  # (T, B, 4H)
        dh_to_dc = scratch("dh_to_dc", tanh_cs.shape) if training else None  # (T, B, H) o (1 - tanh(c)^2)
        hs[0], cs[0] = state
        for t in range(steps):
            gate = acts[t]
            np.dot(hs[t], scaled_Wh, out=recurrent)
            np.add(recurrent, scaled_inputs[t], out=gate)
            np.tanh(gate, out=gate)
            sigmoids = gate[:, : 3 * H]
            _sigmoid_from_tanh(sigmoids)
            i, f, o, g = gate[:, :H], gate[:, H : 2 * H], gate[:, 2 * H : 3 * H], gate[:, 3 * H :]
            np.multiply(f, cs[t], out=cs[t + 1])
            np.multiply(i, g, out=input_term)
            cs[t + 1] += input_term
            np.tanh(cs[t + 1], out=tanh_cs[t])
            np.multiply(o, tanh_cs[t], out=hs[t + 1])
            if training:
                step_local = local[t]
                np.subtract(1, sigmoids, out=step_local[:, : 3 * H])
                step_local[:, : 3 * H] *= sigmoids
                step_local[:, :H] *= g
                step_local[:, H : 2 * H] *= cs[t]
                step_local[:, 2 * H : 3 * H] *= tanh_cs[t]
                np.multiply(g, g, out=step_local[:, 3 * H :])
                np.subtract(1, step_local[:, 3 * H :], out=step_local[:, 3 * H :])
                step_local[:, 3 * H :] *= i
                np.multiply(tanh_cs[t], tanh_cs[t], out=dh_to_dc[t])
                np.subtract(1, dh_to_dc[t], out=dh_to_dc[t])
                dh_to_dc[t] *= o
        return hs[1:], (hs, acts, local, dh_to_dc), (hs[steps].copy(), cs[steps].copy())

    def backward(self, d_outputs, cache, Wh, extra, grads, horizon, hidden_grads, scratch, by_age=False):
        """d_outputs (T, B, H) -> d_projected (T, B, 4H); writes grads["Wh"] (H, 4H). As RNNCell.backward."""
        hs, acts, local, dh_to_dc = cache
        steps, batch_size, H = d_outputs.shape[-3:]
        f = acts[..., H : 2 * H]  # (T, B, H) forget gate
        local4 = local.reshape(steps, batch_size, 4, H)
        ages = Ages(horizon, d_outputs, by_age, scratch)
        d_pre = ages.output("d_pre", 4 * H)
        dh, dc = ages.zeros("dh"), ages.zeros("dc")  # (A, B, H) each
        dc_total = ages.zeros("dc_total")
        Wh_T = transposed(Wh, scratch)
        for t in reversed(range(steps)):
            ages.inject(dh, d_outputs, t)
            ages.record(dh, hidden_grads, t)
            np.multiply(dh, dh_to_dc[t], out=dc_total)
            dc_total += dc
            slots = ages.slots(d_pre, t)
            slots4 = slots.reshape(*slots.shape[:-1], 4, H)  # ([A,] B, 4, H)
            np.multiply(local4[t], dc_total[..., None, :], out=slots4)
            np.multiply(local4[t, :, 2], dh, out=slots4[..., 2, :])
            ages.collect(slots, d_pre, t)
            ages.scale_back(dc_total, f[t], dc)
            ages.pass_back(slots, Wh_T, dh)
        flat = steps * batch_size
        np.dot(hs[:-1].reshape(flat, H).T, ages.total(d_pre).reshape(flat, 4 * H), out=grads["Wh"])
        return d_pre


class GRUCell:
    """Gates [r, z, n] (PyTorch's form): n = tanh(x_n + r (h W_hn + b_hn)), h_t = n + z (h_{t-1} - n)."""

    name = "gru"
    gates = 3
    state_size = 1

    def extra_param_shapes(self, hidden_size):
        return {"bhn": (hidden_size,)}

    def forward(self, projected, state, Wh, extra, scratch, training=False):
        """projected (T, B, 3H), state ((B, H),) -> outputs (T, B, H), cache, new state."""
        steps, batch_size, width = projected.shape
        H = width // 3
        scale = tanh_scale(2 * H, H, projected.dtype)
        scaled_inputs = projected
        scaled_inputs *= scale  # (T, B, 3H)
        scaled_Wh = scaled(Wh, scale, scratch)  # (H, 3H)
        recurrent = scratch("recurrent", projected.shape)  # (T, B, 3H) h_{t-1} Wh (+ b_hn), r and z parts halved
        acts = scratch("acts", projected.shape)  # (T, B, 3H) r, z, n
        hs = scratch("hs", (steps + 1, batch_size, H))
        hs[0] = state[0]
        for t in range(steps):
            rec, gate = recurrent[t], acts[t]
            np.dot(hs[t], scaled_Wh, out=rec)
            rec[:, 2 * H :] += extra["bhn"]
            np.add(scaled_inputs[t, :, : 2 * H], rec[:, : 2 * H], out=gate[:, : 2 * H])
            np.tanh(gate[:, : 2 * H], out=gate[:, : 2 * H])
            _sigmoid_from_tanh(gate[:, : 2 * H])
            n = gate[:, 2 * H :]
            np.multiply(gate[:, :H], rec[:, 2 * H :], out=n)
            n += scaled_inputs[t, :, 2 * H :]
            np.tanh(n, out=n)
            np.subtract(hs[t], n, out=hs[t + 1])
            hs[t + 1] *= gate[:, H : 2 * H]
            hs[t + 1] += n
        return hs[1:], (hs, recurrent, acts), (hs[steps].copy(),)

    def backward(self, d_outputs, cache, Wh, extra, grads, horizon, hidden_grads, scratch, by_age=False):
        """d_outputs (T, B, H) -> d_projected (T, B, 3H); writes grads["Wh"] (H, 3H) and grads["bhn"] (H,).

        As RNNCell.backward.
        """
        hs, recurrent, acts = cache
        steps, batch_size, H = d_outputs.shape[-3:]
        r, z, n = (acts[..., k * H : (k + 1) * H] for k in range(3))  # each (T, B, H)
        recurrent_n = recurrent[..., 2 * H :]  # (T, B, H) h_{t-1} W_hn + b_hn
        shape = (steps, batch_size, H)
        dh_to_n, dh_to_z, dn_to_r = scratch("dh_to_n", shape), scratch("dh_to_z", shape), scratch("dn_to_r", shape)
        np.multiply(n, n, out=dh_to_n)  # (1 - z)(1 - n^2): dL/d(n pre-activation) = dh * dh_to_n
        np.subtract(1, dh_to_n, out=dh_to_n)
        dh_to_n -= z * dh_to_n
        np.subtract(1, z, out=dh_to_z)  # (h_{t-1} - n) z (1 - z)
        dh_to_z *= z
        dh_to_z *= hs[:-1] - n
        np.subtract(1, r, out=dn_to_r)  # (h_{t-1} W_hn + b_hn) r (1 - r)
        dn_to_r *= r
        dn_to_r *= recurrent_n
        ages = Ages(horizon, d_outputs, by_age, scratch)
        d_n = ages.output("d_n", H)  # gradient of the n pre-activation
        d_recurrent = ages.output("d_recurrent", 3 * H)  # of h_{t-1} Wh + [0, 0, b_hn]
        dh = ages.zeros("dh")
        direct = ages.zeros("direct")
        Wh_T = transposed(Wh, scratch)
        for t in reversed(range(steps)):
            ages.inject(dh, d_outputs, t)
            ages.record(dh, hidden_grads, t)
            n_slots = ages.slots(d_n, t)
            rec_slots = ages.slots(d_recurrent, t)
            np.multiply(dh, dh_to_n[t], out=n_slots)
            np.multiply(dh, dh_to_z[t], out=rec_slots[..., H : 2 * H])
            np.multiply(n_slots, dn_to_r[t], out=rec_slots[..., :H])
            np.multiply(n_slots, r[t], out=rec_slots[..., 2 * H :])
            ages.collect(n_slots, d_n, t)
            ages.collect(rec_slots, d_recurrent, t)
            np.multiply(dh, z[t], out=direct)
            ages.pass_back(rec_slots, Wh_T, dh)
            if ages.full:
                dh += direct
            else:
                dh[1:] += direct[:-1]
        flat = steps * batch_size
        total = ages.total(d_recurrent)
        np.dot(hs[:-1].reshape(flat, H).T, total.reshape(flat, 3 * H), out=grads["Wh"])
        np.sum(total[..., 2 * H :], axis=(0, 1), out=grads["bhn"])
        d_projected = d_recurrent
        d_projected[..., 2 * H :] = d_n
        return d_projected


CELLS = {cell.name: cell for cell in (RNNCell(), LSTMCell(), GRUCell())}
