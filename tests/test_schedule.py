import math

import numpy as np
import pytest

from rnn_core import CharRNN, Trainer, Vocab, clip_by_global_norm, learning_rate_factor

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
VOCAB = Vocab.from_text(TEXT)


def make_trainer(dtype=np.float32, **settings):
    settings = dict(seq_len=10, batch_size=4, optimizer="adam", lr=0.01, val_fraction=0.1) | settings
    return Trainer(CharRNN(len(VOCAB), 8, "gru", seed=1, dtype=dtype), VOCAB.encode(TEXT), **settings)


def test_constant_stays_at_the_base_rate():
    assert [learning_rate_factor("constant", step, 10, 0.1, 0) for step in range(12)] == [1.0] * 12


def test_linear_falls_along_a_line_to_the_final_fraction_at_the_last_step():
    # 11 steps: the 10 after the first move it by (1 - 0.1) / 10 each
    factors = [learning_rate_factor("linear", step, 11, 0.1, 0) for step in range(13)]
    np.testing.assert_allclose(factors, [1 - 0.09 * step for step in range(11)] + [0.1, 0.1], rtol=1e-12)


def test_cosine_follows_half_a_cosine_wave():
    assert learning_rate_factor("cosine", 0, 11, 0.2, 0) == 1.0
    assert learning_rate_factor("cosine", 5, 11, 0.2, 0) == pytest.approx(0.6)  # half-way: cos(pi/2) = 0
    assert learning_rate_factor("cosine", 10, 11, 0.2, 0) == pytest.approx(0.2)
    assert learning_rate_factor("cosine", 2, 11, 0.2, 0) == pytest.approx(0.2 + 0.8 * (1 + math.cos(math.pi * 0.2)) / 2)
    assert learning_rate_factor("cosine", 50, 11, 0.2, 0) == pytest.approx(0.2)


@pytest.mark.parametrize("kind", ["constant", "linear", "cosine"])
def test_warm_up_climbs_linearly_then_the_decay_starts_from_the_base_rate(kind):
    factors = [learning_rate_factor(kind, step, 14, 0.5, 4) for step in range(14)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[4] == 1.0
    if kind == "constant":
        assert factors[4:] == [1.0] * 10
    else:
        assert factors[-1] == pytest.approx(0.5) and all(a > b for a, b in zip(factors[4:], factors[5:]))
    if kind == "linear":  # 9 steps from step 4 to step 13
        assert factors[7] == pytest.approx(1 - 0.5 * 3 / 9)


def test_without_a_horizon_there_is_only_the_warm_up():
    assert [learning_rate_factor("cosine", step, None, 0.1, 2) for step in range(4)] == [0.5, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "kind,final,warmup,match",
    [
        ("step", 0.1, 0, "choose one of constant, linear, cosine"),
        ("cosine", 0, 0, "lr_final"),
        ("cosine", 1.5, 0, "lr_final"),
        ("cosine", float("nan"), 0, "lr_final"),
        ("cosine", True, 0, "lr_final"),
        ("cosine", 0.1, -1, "warmup"),
        ("cosine", 0.1, 2.5, "warmup"),
    ],
)
def test_bad_schedules_are_refused_by_the_function_and_the_trainer(kind, final, warmup, match):
    with pytest.raises(ValueError, match=match):
        learning_rate_factor(kind, 0, 10, final, warmup)
    with pytest.raises(ValueError, match=match):
        make_trainer(lr_schedule=kind, lr_final=final, warmup=warmup)


def test_each_epoch_reports_the_rate_of_its_last_step_and_the_base_rate_stays():
    trainer = make_trainer(lr_schedule="cosine", lr_final=0.1, report_every=5)
    trainer.train(3)
    total = 3 * trainer.steps_per_epoch
    ends = [epoch * trainer.steps_per_epoch - 1 for epoch in (1, 2, 3)]
    expected = [0.01 * (0.1 + 0.9 * (1 + math.cos(math.pi * end / (total - 1))) / 2) for end in ends]
    assert [stats.lr for stats in trainer.history] == pytest.approx(expected, rel=1e-12)
    assert trainer.history[-1].lr == pytest.approx(0.001)
    assert trainer.optimizer.lr == 0.01
    # every live curve point carries the rate of its own last step
    steps = [round(fraction * trainer.steps_per_epoch) - 1 for fraction, _, _ in trainer.progress]
    assert [lr for _, _, lr in trainer.progress] == pytest.approx([0.01 * (0.1 + 0.9 * (1 + math.cos(math.pi * s / (total - 1))) / 2) for s in steps], rel=1e-12)


def test_each_step_updates_at_the_scheduled_rate():
    trainer = make_trainer(np.float64, optimizer="sgd", lr=0.5, clip=0, lr_schedule="linear", warmup=4)
    model = trainer.model
    for step in range(3):
        inputs, targets = trainer.train_windows[trainer.window]
        _, grads, _ = model.loss_and_flat_grads(inputs, targets, trainer.state)
        grads = grads.copy()
        before = model.flat_params.copy()
        trainer.step()
        # SGD's update is the rate times the gradient: the warm-up's 1/4, 2/4, 3/4 of 0.5
        np.testing.assert_allclose(model.flat_params - before, -0.5 * (step + 1) / 4 * grads, rtol=1e-9, atol=1e-15)


def test_training_to_more_epochs_stretches_the_decay():
    trainer = make_trainer(lr_schedule="linear", lr_final=0.2)
    steps = trainer.steps_per_epoch
    trainer.train(2)
    assert trainer.history[-1].lr == pytest.approx(0.002)  # the end of a 2-epoch decay
    trainer.train(4)
    # now the last step of epoch 3 is step 3 * steps - 1 of a 4-epoch decay
    assert trainer.history[2].lr == pytest.approx(0.01 * (1 - 0.8 * (3 * steps - 1) / (4 * steps - 1)))
    assert trainer.history[-1].lr == pytest.approx(0.002)


def test_changing_the_learning_rate_between_runs_changes_the_base_of_the_schedule():
    # as the app's Resume does: run.resume(lr=...) sets trainer.optimizer.lr
    trainer = make_trainer(lr_schedule="cosine", lr_final=0.5)
    trainer.train(2)
    trainer.optimizer.lr = 0.004
    trainer.train(4)
    assert trainer.history[1].lr == pytest.approx(0.005)
    assert trainer.history[-1].lr == pytest.approx(0.002)
    assert trainer.optimizer.lr == 0.004


def test_a_constant_schedule_steps_exactly_as_the_optimiser_does_alone():
    trainer = make_trainer(optimizer="adam")
    trainer.train(2)
    by_hand = make_trainer(optimizer="adam")  # its model, optimiser and windows, used without the trainer
    model, optimizer = by_hand.model, by_hand.optimizer
    for _ in range(2):
        state = None
        for inputs, targets in by_hand.train_windows:
            _, grads, state = model.loss_and_flat_grads(inputs, targets, state)
            clip_by_global_norm(grads, 5.0)
            optimizer.step(model.flat_params, grads)
    np.testing.assert_array_equal(model.flat_params, trainer.model.flat_params)
