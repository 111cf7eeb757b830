"""Learning-rate schedules: the factor of the base learning rate at each step (char-rnn's learning_rate_decay).

A schedule warms up linearly over its first steps, then stays at the base rate ("constant") or
falls from it to a final fraction of it, along a straight line ("linear") or half a cosine wave
("cosine"), reaching that fraction at the last step of its horizon.
"""

import math

import numpy as np

SCHEDULES = ("constant", "linear", "cosine")


def check_schedule(kind, final_fraction, warmup_steps):
    """(kind, final_fraction as float, warmup_steps as int), or ValueError saying what is wrong."""
    if kind not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {kind!r}: choose one of {', '.join(SCHEDULES)}")
    if isinstance(final_fraction, bool) or not isinstance(final_fraction, (int, float, np.floating)) or not 0 < final_fraction <= 1:
        raise ValueError(f"lr_final is the fraction of the learning rate to decay to: a number above 0 and at most 1, not {final_fraction!r}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, np.integer)) or warmup_steps < 0:
        raise ValueError(f"warmup must be a whole number of steps, at least 0, not {warmup_steps!r}")
    return kind, float(final_fraction), int(warmup_steps)


def learning_rate_factor(kind, step, total_steps, final_fraction, warmup_steps):
    """The multiplier of the base learning rate at `step` (0 for the first) of `total_steps`.

    Over the first warmup_steps it climbs linearly from 1 / warmup_steps to 1. After them,
    "constant" stays at 1; "linear" and "cosine" fall from 1 to final_fraction at the last
    step, total_steps - 1, and stay there past it. total_steps None means no horizon yet: no decay.
    """
    kind, final_fraction, warmup_steps = check_schedule(kind, final_fraction, warmup_steps)
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if kind == "constant" or total_steps is None:
        return 1.0
    decay_steps = total_steps - 1 - warmup_steps
    done = min((step - warmup_steps) / decay_steps, 1.0) if decay_steps > 0 else 1.0
    if kind == "linear":
        return 1 - (1 - final_fraction) * done
    return final_fraction + (1 - final_fraction) * (1 + math.cos(math.pi * done)) / 2
