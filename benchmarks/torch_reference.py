"""The same character models in PyTorch (CPU, float32), as a throughput and quality reference.

One-hot characters feed `nn.RNN` (tanh), `nn.LSTM` or `nn.GRU` with `num_layers` layers (the
same model as rnn_core's embedding-row lookup) and a linear readout gives the logits; the loss is the mean cross-entropy. Training uses
truncated backpropagation through time: the text is split into `batch_size` contiguous
streams, windows of `seq_len` walk along them, and the hidden state is carried (detached)
from one window to the next until the walk wraps to the start.

Importing this module requires torch; callers guard the import.
"""

import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
THREADS = 2
CLIP_NORM = 5.0
EVAL_WINDOW = 256


class CharModel(nn.Module):
    """One-hot input -> recurrent layers -> linear readout to vocabulary logits."""

    def __init__(self, vocab_size, cell, hidden_size, num_layers):
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = CELLS[cell](vocab_size, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        """Logits (B, T, V) for ids `x` (B, T), and the state after the window."""
        out, state = self.rnn(F.one_hot(x, self.vocab_size).float(), state)  # (B, T, H)
        return self.head(out), state


def detach(state):
    """The state cut from the graph of the window that produced it (LSTM states are pairs)."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def streams(ids, batch_size):
    """The ids as `batch_size` contiguous streams: a (B, L) int64 tensor."""
    stream_len = len(ids) // batch_size
    data = np.asarray(ids[: batch_size * stream_len], dtype=np.int64)
    return torch.from_numpy(data.reshape(batch_size, stream_len))


class Trainer:
    """A model, its optimizer and the walk of windows over the training streams."""

    def __init__(self, ids, vocab_size, cell, hidden_size, num_layers, batch_size, seq_len,
                 make_optimizer, seed):
        torch.set_num_threads(THREADS)
        torch.manual_seed(seed)
        self.model = CharModel(vocab_size, cell, hidden_size, num_layers)
        self.optimizer = make_optimizer(self.model.parameters())
        self.data = streams(ids, batch_size)  # (B, L)
        self.seq_len = seq_len
        self.position = 0
        self.state = None

    def step(self):
        """One update on the next window; returns its mean cross-entropy in nats."""
        T = self.seq_len
        if self.position + T + 1 > self.data.shape[1]:
            self.position, self.state = 0, None
        x = self.data[:, self.position : self.position + T]  # (B, T)
        y = self.data[:, self.position + 1 : self.position + T + 1]  # (B, T)
        self.position += T
        logits, state = self.model(x, self.state)  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), CLIP_NORM)
        self.optimizer.step()
        self.state = detach(state)
        return loss.item()


def torch_chars_per_sec(ids, vocab_size, cell, hidden_size, num_layers, batch_size, seq_len,
                        warmup_steps, steps) -> float:
    """Training throughput with Adagrad (lr 0.01) in characters per second.

    Runs `warmup_steps` untimed updates, then times `steps` more with perf_counter and
    returns steps * batch_size * seq_len / elapsed.
    """
    trainer = Trainer(ids, vocab_size, cell, hidden_size, num_layers, batch_size, seq_len,
                      lambda params: torch.optim.Adagrad(params, lr=0.01), seed=0)
    for _ in range(warmup_steps):
        trainer.step()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    elapsed = time.perf_counter() - start
    return steps * batch_size * seq_len / elapsed


@torch.no_grad()
def val_bpc(model, val_ids):
    """Mean cross-entropy of predicting val_ids[1:] in bits per character.

    The model reads the text as one stream (batch 1) in windows of EVAL_WINDOW characters,
    carrying its state across windows.
    """
    model.eval()
    data = torch.from_numpy(np.asarray(val_ids, dtype=np.int64))[None]  # (1, N)
    total, count, state = 0.0, 0, None
    for s in range(0, data.shape[1] - 1, EVAL_WINDOW):
        x = data[:, s : s + EVAL_WINDOW]  # (1, W)
        y = data[:, s + 1 : s + EVAL_WINDOW + 1]  # (1, W) or one shorter at the end
        logits, state = model(x[:, : y.shape[1]], state)  # (1, W, V)
        total += F.cross_entropy(logits[0], y[0], reduction="sum").item()
        count += y.shape[1]
    model.train()
    return total / count / math.log(2)


def torch_train_for_seconds(train_ids, val_ids, vocab_size, cell, hidden_size, num_layers,
                            batch_size, seq_len, lr, seconds, seed) -> dict:
    """Train with Adam at `lr` for a wall-clock budget, then measure validation bits per char.

    The clock is checked between steps, so training stops after the first step that ends
    past `seconds`. Returns val_bpc, the number of steps, the seconds spent training and
    the training throughput in characters per second.
    """
    trainer = Trainer(train_ids, vocab_size, cell, hidden_size, num_layers, batch_size, seq_len,
                      lambda params: torch.optim.Adam(params, lr=lr), seed=seed)
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        trainer.step()
        steps += 1
    elapsed = time.perf_counter() - start
    return {
        "val_bpc": val_bpc(trainer.model, val_ids),
        "steps": steps,
        "seconds": elapsed,
        "chars_per_sec": steps * batch_size * seq_len / elapsed,
    }
