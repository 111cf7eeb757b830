"""Optimisers over one flat parameter array, and clipping by global norm.

Every optimiser updates `params` (P,) in place from `grads` (P,); the learning rate is the
attribute `lr` and may be changed between steps, and a step may be given a rate of its own (a
schedule's) while `lr` stays the base rate. `state()` and `load_state()` expose the
running statistics so training can be saved, restored and resumed exactly.
"""

import math

import numpy as np


def check_learning_rate(lr):
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"the learning rate must be a number above 0, not {lr!r}")
    return float(lr)


def global_norm(grads):
    """The Euclidean norm of the flat gradient (P,)."""
    return math.sqrt(float(np.dot(grads, grads)))


def clip_by_global_norm(grads, max_norm):
    """Scale grads (P,) in place so their norm is at most max_norm (0 means no clipping).

    Returns the norm before clipping.
    """
    norm = global_norm(grads)
    if max_norm > 0 and norm > max_norm:
        grads *= max_norm / norm
    return norm


class Optimizer:
    name = ""  # the key make_optimizer knows it by
    display_name = ""  # as people write it, for messages
    slots = ()  # names of the running statistics, each shaped like params

    def __init__(self, num_params, lr, dtype=np.float32):
        self.lr = check_learning_rate(lr)
        self.steps = 0
        self.buffers = {slot: np.zeros(num_params, dtype) for slot in self.slots}
        self._scratch = np.empty(num_params, dtype)

    def state(self):
        return {"steps": self.steps, **self.buffers}

    def load_state(self, state):
        self.steps = int(state["steps"])
        for slot in self.slots:
            np.copyto(self.buffers[slot], state[slot])

    def step(self, params, grads, lr=None):
        """params (P,) -= update computed from grads (P,), at the rate `lr` (None: the attribute lr)."""
        self.lr = check_learning_rate(self.lr)
        self.steps += 1
        self._update(params, grads, self.lr if lr is None else check_learning_rate(lr))


class SGD(Optimizer):
    name = "sgd"
    display_name = "SGD"

    def _update(self, params, grads, lr):
        np.multiply(grads, lr, out=self._scratch)
        params -= self._scratch


class Momentum(Optimizer):
    """velocity = momentum * velocity + grads; params -= lr * velocity."""

    name = "momentum"
    display_name = "Momentum"
    slots = ("velocity",)

    def __init__(self, num_params, lr, dtype=np.float32, momentum=0.9):
        super().__init__(num_params, lr, dtype)
        self.momentum = momentum

    def _update(self, params, grads, lr):
        velocity = self.buffers["velocity"]
        velocity *= self.momentum
        velocity += grads
        np.multiply(velocity, lr, out=self._scratch)
        params -= self._scratch


class Adagrad(Optimizer):
    """memory += grads^2; params -= lr * grads / sqrt(memory + eps) (min-char-rnn's rule)."""

    name = "adagrad"
    display_name = "Adagrad"
    slots = ("memory",)

    def __init__(self, num_params, lr, dtype=np.float32, eps=1e-8):
        super().__init__(num_params, lr, dtype)
        self.eps = eps

    def _update(self, params, grads, lr):
        memory, scratch = self.buffers["memory"], self._scratch
        np.multiply(grads, grads, out=scratch)
        memory += scratch
        np.add(memory, self.eps, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.divide(grads, scratch, out=scratch)
        scratch *= lr
        params -= scratch


class RMSProp(Optimizer):
    """mean_square = decay * mean_square + (1 - decay) grads^2; params -= lr grads / (sqrt(mean_square) + eps)."""

    name = "rmsprop"
    display_name = "RMSProp"
    slots = ("mean_square",)

    def __init__(self, num_params, lr, dtype=np.float32, decay=0.99, eps=1e-8):
        super().__init__(num_params, lr, dtype)
        self.decay, self.eps = decay, eps

    def _update(self, params, grads, lr):
        mean_square, scratch = self.buffers["mean_square"], self._scratch
        np.multiply(grads, grads, out=scratch)
        scratch *= 1 - self.decay
        mean_square *= self.decay
        mean_square += scratch
        np.sqrt(mean_square, out=scratch)
        scratch += self.eps
        np.divide(grads, scratch, out=scratch)
        scratch *= lr
        params -= scratch


class Adam(Optimizer):
    """Adam with bias correction (Kingma and Ba, 2015)."""

    name = "adam"
    display_name = "Adam"
    slots = ("mean", "mean_square")

    def __init__(self, num_params, lr, dtype=np.float32, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(num_params, lr, dtype)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _update(self, params, grads, lr):
        mean, mean_square, scratch = self.buffers["mean"], self.buffers["mean_square"], self._scratch
        mean *= self.beta1
        np.multiply(grads, 1 - self.beta1, out=scratch)
        mean += scratch
        mean_square *= self.beta2
        np.multiply(grads, grads, out=scratch)
        scratch *= 1 - self.beta2
        mean_square += scratch
        # fold both bias corrections into the step size and the epsilon
        correction1 = 1 - self.beta1**self.steps
        correction2 = 1 - self.beta2**self.steps
        np.sqrt(mean_square, out=scratch)
        scratch += self.eps * math.sqrt(correction2)
        np.divide(mean, scratch, out=scratch)
        scratch *= lr * math.sqrt(correction2) / correction1
        params -= scratch


OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, Adagrad, RMSProp, Adam)}


def make_optimizer(name, num_params, lr, dtype=np.float32):
    """An optimiser by name: sgd, momentum, adagrad, rmsprop or adam."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](num_params, lr, dtype)
