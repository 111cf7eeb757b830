"""The character model: embedding lookup, stacked recurrent layers, linear read-out, softmax.

With dropout, training drops each unit of every layer's outputs (the input of the layer above, or
of the read-out) with that probability, char-rnn's -dropout; evaluation and sampling never do.
"""

from dataclasses import dataclass

import numpy as np

from .cells import CELLS
from .workspace import Workspace

# Above this many one-hot entries the embedding gradient is scattered instead of multiplied.
_ONE_HOT_LIMIT = 1 << 22


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


def check_dropout(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value < 1:
        raise ValueError(f"dropout is the fraction of each layer's outputs dropped in training: a number at least 0 and below 1, not {value!r}")
    return float(value)


def check_horizon(value):
    if value is None or value == 0:
        return None
    return check_positive_int("bptt_horizon", value)


def param_shapes(vocab_size, hidden_size, cell, num_layers):
    """name -> shape of every trainable array of such a model, in the order of the flat buffer."""
    H, G = hidden_size, CELLS[cell].gates
    shapes = {}
    for layer in range(num_layers):
        input_size = vocab_size if layer == 0 else H
        shapes[f"Wx{layer}"] = (input_size, G * H)
        shapes[f"Wh{layer}"] = (H, G * H)
        shapes[f"b{layer}"] = (G * H,)
        for name, shape in CELLS[cell].extra_param_shapes(H).items():
            shapes[f"{name}{layer}"] = shape
    shapes["Why"] = (H, vocab_size)
    shapes["by"] = (vocab_size,)
    return shapes


@dataclass
class ForwardResult:
    """What the network computes over a window, for sampling and visualisation."""

    probs: np.ndarray  # (B, T, V) next-character probabilities after each input
    hidden: np.ndarray  # (L, B, T, H) hidden activations of every layer
    state: tuple  # the state after the last step, to carry on


class CharRNN:
    """A character-level recurrent network ("rnn", "lstm" or "gru" cells, stacked).

    Every trainable array lives in one flat buffer, `flat_params`; `params` maps each name to a
    view of it, so optimisers update the whole model with a few vectorised operations.
    """

    def __init__(self, vocab_size, hidden_size, cell="rnn", num_layers=1, seed=0, dtype=np.float32, bptt_horizon=None, dropout=0.0):
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}: choose one of {', '.join(CELLS)}")
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.seed = int(seed)
        self.cell_name = cell
        self.cell = CELLS[cell]
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError("dtype must be float32 or float64")
        self.bptt_horizon = check_horizon(bptt_horizon)
        self.dropout = check_dropout(dropout)
        shapes = self.param_shapes()
        sizes = [int(np.prod(shape)) for shape in shapes.values()]
        self.flat_params = np.zeros(sum(sizes), self.dtype)
        self.params = self._views(self.flat_params)
        self._work = Workspace(self.dtype)
        self._initialise(np.random.default_rng(self.seed))

    def __getstate__(self):
        # The views and the reusable arrays are rebuilt on arrival: pickled, each view would
        # become an array of its own and stop sharing the flat buffer.
        return {key: value for key, value in self.__dict__.items() if key not in ("params", "_work")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.params = self._views(self.flat_params)
        self._work = Workspace(self.dtype)

    def reuse_workspace(self, other):
        """Take over the reusable arrays of `other`, a model of the same shapes (e.g. an earlier copy)."""
        if other.config != self.config:
            raise ValueError("a workspace can only pass between models of the same configuration")
        self._work = other._work

    @property
    def config(self):
        """The settings that rebuild this model's shapes (JSON-friendly)."""
        return {
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "cell": self.cell_name,
            "num_layers": self.num_layers,
            "seed": self.seed,
            "dtype": self.dtype.name,
            "bptt_horizon": self.bptt_horizon,
            "dropout": self.dropout,
        }

    def param_shapes(self):
        """name -> shape, in the order of the flat buffer."""
        return param_shapes(self.vocab_size, self.hidden_size, self.cell_name, self.num_layers)

    @property
    def num_params(self):
        return self.flat_params.size

    def split(self, flat):
        """name -> a view of `flat` (P,), laid out like `flat_params`, in each parameter's shape."""
        return self._views(flat)

    def _views(self, flat):
        views, start = {}, 0
        for name, shape in self.param_shapes().items():
            size = int(np.prod(shape))
            views[name] = flat[start : start + size].reshape(shape)
            start += size
        return views

    def _initialise(self, rng):
        # PyTorch's scheme: every weight and bias uniform in +-1/sqrt(H). Random biases break the
        # symmetry between units and measurably speed up early learning over zero biases.
        bound = 1 / np.sqrt(self.hidden_size)
        for array in self.params.values():
            array[...] = rng.uniform(-bound, bound, array.shape)

    def initial_state(self, batch_size):
        """The zero state: per layer a tuple of (B, H) arrays (hidden, and the cell for LSTM)."""
        shape = (batch_size, self.hidden_size)
        return tuple(tuple(np.zeros(shape, self.dtype) for _ in range(self.cell.state_size)) for _ in range(self.num_layers))

    def _check_ids(self, ids, name):
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[0] < 1 or ids.shape[1] < 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"{name} must be a non-empty (B, T) integer array")
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ValueError(f"{name} holds ids outside 0..{self.vocab_size - 1}")
        return ids

    def _layer_params(self, layer):
        extra = {name: self.params[f"{name}{layer}"] for name in self.cell.extra_param_shapes(1)}
        return self.params[f"Wx{layer}"], self.params[f"Wh{layer}"], self.params[f"b{layer}"], extra

    def _dropout_masks(self, rng, batch_size, steps):
        """(L, T, B, H) inverted-dropout masks drawn with the numpy Generator rng: each entry is 0
        with probability `dropout`, else 1 / (1 - dropout), so that the outputs keep their mean."""
        masks = self._work.get("dropout_masks", (self.num_layers, steps, batch_size, self.hidden_size))
        rng.random(dtype=self.dtype, out=masks)  # uniform draws, turned into masks in place
        np.greater_equal(masks, self.dropout, out=masks)
        masks *= 1 / (1 - self.dropout)
        return masks

    def _run(self, inputs, state, training=False, dropout_masks=None):
        """Forward over a window: inputs (B, T) -> logits (T*B, V), top layer's outputs, per-layer
        inputs and caches, new state. dropout_masks (L, T, B, H), when given, multiply each layer's outputs."""
        if state is None:
            state = self.initial_state(inputs.shape[0])
        steps, batch_size = inputs.shape[1], inputs.shape[0]
        ids = inputs.T  # (T, B): time-major
        layer_inputs, caches, new_state = [], [], []
        x = None
        for layer in range(self.num_layers):
            Wx, Wh, b, extra = self._layer_params(layer)
            scratch = self._work.scope(layer)
            projected = scratch("projected", (steps, batch_size, Wx.shape[1]))
            if layer == 0:
                np.take(Wx, ids, axis=0, out=projected)  # (T, B, G*H): the embedding row of each character
            else:
                np.dot(x.reshape(steps * batch_size, -1), Wx, out=projected.reshape(steps * batch_size, -1))
            projected += b
            layer_inputs.append(x)
            x, cache, layer_state = self.cell.forward(projected, state[layer], Wh, extra, scratch, training)
            if dropout_masks is not None:
                x = np.multiply(x, dropout_masks[layer], out=scratch("dropped", x.shape))  # (T, B, H)
            caches.append(cache)
            new_state.append(layer_state)
        logits = x.reshape(steps * batch_size, -1) @ self.params["Why"]  # (T*B, V)
        logits += self.params["by"]
        return logits, x, layer_inputs, caches, tuple(new_state)

    @staticmethod
    def _softmax(logits):
        """In place: logits (N, V) -> shifted logits; returns probs (N, V) and log of the normaliser (N,)."""
        # One max over the whole array is much cheaper than one per row and still prevents
        # overflow; only a row far below the others underflows, and then rows are shifted alone.
        logits -= logits.max()
        probs = np.exp(logits)
        sums = probs @ np.ones(probs.shape[1], probs.dtype)  # (N,) row sums; faster than sum(axis=1)
        if not sums.min() > 0:
            logits -= logits.max(axis=1, keepdims=True)
            np.exp(logits, out=probs)
            sums = probs.sum(axis=1)
        probs /= sums[:, None]
        return probs, np.log(sums)

    def forward(self, inputs, state=None):
        """inputs (B, T) int -> ForwardResult with probs (B, T, V) and hidden (L, B, T, H)."""
        inputs = self._check_ids(inputs, "inputs")
        batch_size, steps = inputs.shape
        logits, _, layer_inputs, caches, new_state = self._run(inputs, state)
        probs, _ = self._softmax(logits)
        outputs = layer_inputs[1:] + [self._outputs(caches[-1])]
        hidden = np.stack([o.transpose(1, 0, 2) for o in outputs])  # (L, B, T, H)
        return ForwardResult(probs.reshape(steps, batch_size, -1).transpose(1, 0, 2), hidden, new_state)

    @staticmethod
    def _outputs(cache):
        hs = cache if isinstance(cache, np.ndarray) else cache[0]  # every cell's cache starts with hs
        return hs[1:]

    def loss_and_flat_grads(self, inputs, targets, state=None, diagnostics=False, rng=None):
        """Like loss_and_grads, but the gradient is one (P,) array laid out like `flat_params`.

        The array is reused by the next call from the same thread: copy it to keep it.
        """
        inputs = self._check_ids(inputs, "inputs")
        targets = self._check_ids(targets, "targets")
        if inputs.shape != targets.shape:
            raise ValueError("inputs and targets must have the same (B, T) shape")
        batch_size, steps = inputs.shape
        count = batch_size * steps
        masks = None
        if self.dropout > 0:
            if rng is None:
                raise ValueError("this model has dropout: give a numpy Generator (rng=) to draw which units training drops")
            masks = self._dropout_masks(rng, batch_size, steps)
        logits, top, layer_inputs, caches, new_state = self._run(inputs, state, training=True, dropout_masks=masks)
        target_ids = targets.T.reshape(count)  # (T*B,) time-major like logits
        rows = np.arange(count)
        probs, log_norm = self._softmax(logits)
        char_losses = log_norm - logits[rows, target_ids]  # (T*B,) cross-entropy in nats
        loss = float(np.add.reduce(char_losses, dtype=np.float64)) / count

        # every gradient below is written whole (out=), so the buffer needs no zeroing
        flat_grads = self._work.get("grads", self.flat_params.shape)
        grads = self._work.memo("grad_views", lambda: self._views(flat_grads))
        d_logits = probs  # (T*B, V), reused in place
        d_logits[rows, target_ids] -= 1
        d_logits /= count
        hidden_grads = np.empty((self.num_layers, steps, batch_size, self.hidden_size), self.dtype) if diagnostics else None
        self._backward(d_logits, top, layer_inputs, caches, inputs, grads, hidden_grads, dropout_masks=masks)
        if not diagnostics:
            return loss, flat_grads, new_state
        details = {
            "step_losses": char_losses.reshape(steps, batch_size).mean(axis=1),  # (T,)
            "hidden_grad_norms": np.sqrt(np.einsum("ltbh,ltbh->lt", hidden_grads, hidden_grads)),  # (L, T)
        }
        return loss, flat_grads, new_state, details

    def _backward(self, d_logits, top, layer_inputs, caches, inputs, grads, hidden_grads=None, dropout_masks=None):
        """Backward pass from d_logits (T*B, V), the gradient of the loss with respect to the logits.

        Writes every parameter's gradient into `grads` (name -> array) and, when given, dL/dh of
        each layer and step into hidden_grads (L, T, B, H). dropout_masks (L, T, B, H) are those
        the forward pass used, if any. Returns the gradient with respect to each input's
        embedding row, (T, B, G*H).
        """
        batch_size, steps = inputs.shape
        count = batch_size * steps
        top_flat = top.reshape(count, -1)
        np.dot(top_flat.T, d_logits, out=grads["Why"])
        np.sum(d_logits, axis=0, out=grads["by"])
        d_x = (d_logits @ np.ascontiguousarray(self.params["Why"].T)).reshape(steps, batch_size, -1)  # (T, B, H)
        for layer in reversed(range(self.num_layers)):
            if dropout_masks is not None:
                d_x *= dropout_masks[layer]  # a dropped unit passed nothing on, so nothing flows back to it
            Wx, Wh, b, extra = self._layer_params(layer)
            layer_grads = {name: grads[f"{name}{layer}"] for name in ["Wh", *extra]}
            layer_hidden_grads = None if hidden_grads is None else hidden_grads[layer]
            # with a horizon, the layer below needs the gradient split by age (see cells.Ages)
            d_projected = self.cell.backward(
                d_x, caches[layer], Wh, extra, layer_grads, self.bptt_horizon, layer_hidden_grads, self._work.scope(layer), by_age=layer > 0
            )
            by_age = d_projected.ndim == 4
            d_total = (d_projected.sum(axis=0) if by_age else d_projected).reshape(count, -1)  # (T*B, G*H)
            np.sum(d_total, axis=0, out=grads[f"b{layer}"])
            if layer > 0:
                np.dot(layer_inputs[layer].reshape(count, -1).T, d_total, out=grads[f"Wx{layer}"])
                if by_age:
                    d_x = d_projected @ Wx.T  # (A, T, B, H)
                else:
                    d_x = (d_total @ Wx.T).reshape(steps, batch_size, -1)  # (T, B, H)
            else:
                self._embedding_grad(inputs.T.reshape(count), d_total, grads["Wx0"])
        return d_total.reshape(steps, batch_size, -1)

    def _embedding_grad(self, ids, d_rows, out):
        """out (V, G*H) <- sum of d_rows (N, G*H) by id (N,); a one-hot matmul beats np.add.at."""
        if ids.size * self.vocab_size <= _ONE_HOT_LIMIT:
            one_hot = np.zeros((ids.size, self.vocab_size), self.dtype)
            one_hot[np.arange(ids.size), ids] = 1
            np.dot(one_hot.T, d_rows, out=out)
        else:
            out[...] = 0
            np.add.at(out, ids, d_rows)

    def loss_and_grads(self, inputs, targets, state=None, diagnostics=False, rng=None):
        """Mean cross-entropy (nats per character) and its full gradient over one window.

        inputs, targets: (B, T) int arrays; state: from `initial_state(B)` or a previous call
        (None means zeros). Returns (loss, grads, new_state) with grads name -> array shaped like
        `params`; the gradient flows back through all T steps, or `bptt_horizon` steps when set.
        With diagnostics=True a fourth item is a dict: "step_losses" (T,) and
        "hidden_grad_norms" (L, T), the norm of dL/dh_t for each layer and step.
        A model with dropout needs rng, a numpy Generator, to draw the units it drops; both
        the loss and the gradient are then those of the thinned network (the same generator
        state gives the same masks). Without dropout rng is not used.
        """
        result = self.loss_and_flat_grads(inputs, targets, state, diagnostics, rng)
        return (result[0], self._views(result[1].copy()), *result[2:])

    def loss(self, inputs, targets, state=None):
        """(mean cross-entropy in nats, new state) without the backward pass."""
        inputs = self._check_ids(inputs, "inputs")
        targets = self._check_ids(targets, "targets")
        logits, _, _, _, new_state = self._run(inputs, state)
        _, log_norm = self._softmax(logits)
        target_ids = targets.T.reshape(-1)
        return float((log_norm - logits[np.arange(target_ids.size), target_ids]).mean()), new_state
