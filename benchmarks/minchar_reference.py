"""A reference character-level RNN in the style of Karpathy's min-char-rnn.

One sequence at a time (batch 1), one-hot column vectors, float64, a vanilla tanh RNN,
full backpropagation through the window with a Python loop over time, the summed
cross-entropy as the loss, gradients clipped to [-5, 5] per element and Adagrad updates.
It is the baseline the engine's throughput is compared against.
"""

import time

import numpy as np


class MinCharRNN:
    """A vanilla RNN with its Adagrad memory, shaped like min-char-rnn's globals."""

    def __init__(self, vocab_size, hidden_size, seed=0, scale=0.01):
        rng = np.random.default_rng(seed)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.params = {
            "Wxh": rng.standard_normal((hidden_size, vocab_size)) * scale,  # (H, V)
            "Whh": rng.standard_normal((hidden_size, hidden_size)) * scale,  # (H, H)
            "Why": rng.standard_normal((vocab_size, hidden_size)) * scale,  # (V, H)
            "bh": np.zeros((hidden_size, 1)),  # (H, 1)
            "by": np.zeros((vocab_size, 1)),  # (V, 1)
        }
        self.memory = {name: np.zeros_like(p) for name, p in self.params.items()}

    def loss_and_grads(self, inputs, targets, hprev):
        """Summed cross-entropy of one window, its unclipped gradients and the last state.

        `inputs` and `targets` are sequences of T ids, `hprev` is the (H, 1) state before
        the window. Returns (loss, grads, h) with `grads` keyed like `self.params`.
        """
        Wxh, Whh, Why = self.params["Wxh"], self.params["Whh"], self.params["Why"]
        bh, by = self.params["bh"], self.params["by"]
        xs, hs, ps = {}, {-1: hprev}, {}
        loss = 0.0
        for t in range(len(inputs)):
            xs[t] = np.zeros((self.vocab_size, 1))  # (V, 1)
            xs[t][inputs[t]] = 1.0
            hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)  # (H, 1)
            ys = Why @ hs[t] + by  # (V, 1)
            e = np.exp(ys - ys.max())
            ps[t] = e / e.sum()  # (V, 1)
            loss -= np.log(ps[t][targets[t], 0])

        grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        dhnext = np.zeros_like(hprev)  # (H, 1)
        for t in reversed(range(len(inputs))):
            dy = ps[t].copy()  # (V, 1)
            dy[targets[t]] -= 1.0
            grads["Why"] += dy @ hs[t].T
            grads["by"] += dy
            dh = Why.T @ dy + dhnext  # (H, 1)
            dhraw = (1.0 - hs[t] * hs[t]) * dh  # (H, 1)
            grads["bh"] += dhraw
            grads["Wxh"] += dhraw @ xs[t].T
            grads["Whh"] += dhraw @ hs[t - 1].T
            dhnext = Whh.T @ dhraw
        return loss, grads, hs[len(inputs) - 1]

    def step(self, grads, lr=0.1):
        """Clip each gradient to [-5, 5] and apply one Adagrad update in place."""
        for name, p in self.params.items():
            g = np.clip(grads[name], -5.0, 5.0)
            self.memory[name] += g * g
            p -= lr * g / np.sqrt(self.memory[name] + 1e-8)

    def train(self, ids, seq_len, steps, position=0, hprev=None):
        """Run `steps` updates over `ids` from `position`, min-char-rnn style.

        Windows walk forward by `seq_len`; the state is carried between windows and reset,
        with the position, when the next window would reach the end of `ids`.
        Returns (position, hprev, last_loss) so that training can be resumed.
        """
        if hprev is None:
            hprev = np.zeros((self.hidden_size, 1))
        loss = float("nan")
        for _ in range(steps):
            if position + seq_len + 1 >= len(ids):
                position, hprev = 0, np.zeros((self.hidden_size, 1))
            inputs = ids[position : position + seq_len]
            targets = ids[position + 1 : position + seq_len + 1]
            loss, grads, hprev = self.loss_and_grads(inputs, targets, hprev)
            self.step(grads)
            position += seq_len
        return position, hprev, loss


def minchar_chars_per_sec(
    ids: np.ndarray, vocab_size: int, hidden_size: int, seq_len: int, warmup_steps: int, steps: int
) -> float:
    """Training throughput of the reference RNN in characters per second.

    Runs `warmup_steps` untimed updates, then times `steps` more with perf_counter and
    returns steps * seq_len / elapsed.
    """
    ids = [int(i) for i in ids]  # plain ints, as min-char-rnn indexes with them
    model = MinCharRNN(vocab_size, hidden_size)
    position, hprev, _ = model.train(ids, seq_len, warmup_steps)
    start = time.perf_counter()
    model.train(ids, seq_len, steps, position, hprev)
    elapsed = time.perf_counter() - start
    return steps * seq_len / elapsed
