import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from rnn_core import CharRNN, DivergenceError, Trainer, Vocab, make_streams, sample

HELP = "help!"
RHYME = (Path(__file__).resolve().parent.parent / "assets" / "rhyme.txt").read_text(encoding="utf-8")


def help_trainer(seed=0, **overrides):
    vocab = Vocab.from_text(HELP)
    settings = dict(seq_len=4, batch_size=1, optimizer="adagrad", lr=0.1, val_fraction=0)
    settings.update(overrides)
    model = CharRNN(len(vocab), 100, "rnn", seed=seed)
    return vocab, model, Trainer(model, vocab.encode(HELP), **settings)


def rhyme_trainer(**overrides):
    """The app's default run: a GRU of 128 units on the rhyme, 16 streams of 48-character windows."""
    vocab = Vocab.from_text(RHYME)
    settings = dict(seq_len=48, batch_size=16, optimizer="adam", lr=0.004, clip=5.0, val_fraction=0.1)
    settings.update(overrides)
    return Trainer(CharRNN(len(vocab), 128, "gru", seed=0), vocab.encode(RHYME), **settings)


def test_help_task_learns_and_greedy_sampling_says_help():
    vocab, model, trainer = help_trainer()
    assert trainer.train(300) == "done"
    assert len(trainer.history) == 300
    assert trainer.history[0].train_loss > 1.0
    assert trainer.history[-1].train_loss < 0.05
    assert "h" + sample(model, vocab, "h", 4, greedy=True) == "help!"


def corpus():
    return "the quick brown fox jumps over the lazy dog. " * 40


def make_trainer(cell="lstm", seed=0, **overrides):
    text = corpus()
    vocab = Vocab.from_text(text)
    model = CharRNN(len(vocab), 16, cell, seed=seed)
    settings = dict(seq_len=10, batch_size=4, optimizer="adam", lr=0.01, val_fraction=0.1)
    settings.update(overrides)
    return model, Trainer(model, vocab.encode(text), **settings)


def test_streams_are_contiguous_pieces_side_by_side():
    streams = make_streams(np.arange(10), 3)
    np.testing.assert_array_equal(streams, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])


def test_epoch_reports_every_statistic():
    model, trainer = make_trainer()
    events = []
    trainer.train(2, callback=events.append)
    assert [e["epoch"] for e in events] == [1, 2]
    stats = trainer.history[-1]
    assert stats.val_loss is not None and stats.val_loss > 0
    assert stats.train_bpc == pytest.approx(stats.train_loss / math.log(2))
    assert stats.val_perplexity == pytest.approx(math.exp(stats.val_loss))
    assert stats.chars_per_sec > 0 and stats.seconds > 0 and stats.grad_norm > 0
    assert stats.elapsed > trainer.history[0].elapsed
    assert stats.chars == sum(inputs.size for inputs, _ in trainer.train_windows)


def test_loss_falls_on_a_repetitive_text():
    _, trainer = make_trainer()
    trainer.train(8)
    assert trainer.history[-1].train_loss < 0.5 * trainer.history[0].train_loss
    assert trainer.history[-1].val_loss < trainer.history[0].val_loss


def test_live_curve_points_are_mean_losses_over_their_reporting_interval():
    every = 6
    _, reported = make_trainer(report_every=every)
    events = []
    reported.train(1, callback=events.append)
    _, stepped = make_trainer()
    losses = np.array([stepped.step()[0] for _ in range(stepped.steps_per_epoch)])
    chars = np.array([inputs.size for inputs, _ in stepped.train_windows])  # the last window is shorter
    steps = stepped.steps_per_epoch
    ends = [*range(every, steps, every), steps]  # the last interval ends with the epoch
    assert steps % every != 0
    expected = [np.average(losses[start:end], weights=chars[start:end]) for start, end in zip([0, *ends[:-1]], ends)]
    assert [epoch for epoch, _, _ in reported.progress] == [end / steps for end in ends]
    np.testing.assert_allclose([loss for _, loss, _ in reported.progress], expected, rtol=1e-6)
    assert [lr for _, _, lr in reported.progress] == [0.01] * len(ends)  # the rate of each point's last step
    assert [e["lr"] for e in events if e["kind"] == "progress"] == [0.01] * (len(ends) - 1)
    np.testing.assert_allclose([e["train_loss"] for e in events if e["kind"] == "progress"], expected[:-1], rtol=1e-6)
    # not the running mean since the epoch began, which the first point alone is
    assert reported.progress[1][1] != pytest.approx(np.average(losses[: 2 * every], weights=chars[: 2 * every]), rel=1e-6)
    assert reported.progress[-1][1] != pytest.approx(reported.history[0].train_loss, rel=1e-6)
    assert reported.history[0].train_loss == pytest.approx(np.average(losses, weights=chars), rel=1e-6)


def test_progress_events_inside_long_epochs():
    _, trainer = make_trainer(report_every=5)
    events = []
    trainer.train(1, callback=events.append)
    progress = [e for e in events if e["kind"] == "progress"]
    assert len(progress) == (trainer.steps_per_epoch - 1) // 5
    assert all(0 < e["epoch"] < 1 for e in progress)
    assert events[-1]["kind"] == "epoch"


def test_same_seed_text_and_settings_give_identical_losses():
    runs = []
    for _ in range(2):
        model, trainer = make_trainer(cell="gru", seed=3)
        trainer.train(3)
        runs.append(([s.train_loss for s in trainer.history], [s.val_loss for s in trainer.history], model.flat_params.copy()))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    np.testing.assert_array_equal(runs[0][2], runs[1][2])
    _, other = make_trainer(cell="gru", seed=4)
    other.train(1)
    assert other.history[0].train_loss != runs[0][0][0]


def test_stop_by_callback_then_resume_equals_an_uninterrupted_run():
    model_a, straight = make_trainer()
    straight.train(3)

    model_b, interrupted = make_trainer(report_every=3)
    calls = []

    def stop_soon(event):
        calls.append(event)
        return len(calls) == 2  # stop inside the first epoch

    assert interrupted.train(3, callback=stop_soon) == "stopped"
    assert interrupted.epoch == 0 and 0 < interrupted.window < interrupted.steps_per_epoch
    assert interrupted.train(3) == "done"
    assert [s.train_loss for s in interrupted.history] == [s.train_loss for s in straight.history]
    np.testing.assert_array_equal(model_a.flat_params, model_b.flat_params)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_pickled_trainer_carries_on_exactly_where_it_was(cell):
    # How the app hands a run to a worker process and back between slices.
    model_a, straight = make_trainer(cell=cell, report_every=4)
    straight.train(3)

    _, trainer = make_trainer(cell=cell, report_every=4)
    assert trainer.train(3, max_steps=5) == "steps"  # in the middle of a reporting interval
    trainer = pickle.loads(pickle.dumps(trainer))
    model_b = trainer.model
    assert all(np.shares_memory(view, model_b.flat_params) for view in model_b.params.values())
    assert trainer.train(3) == "done"
    assert [s.train_loss for s in trainer.history] == [s.train_loss for s in straight.history]
    assert [s.val_loss for s in trainer.history] == [s.val_loss for s in straight.history]
    assert trainer.progress == straight.progress
    np.testing.assert_array_equal(model_a.flat_params, model_b.flat_params)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_step_in_detail_is_the_same_step_and_shows_its_numbers(cell):
    model_a, plain = make_trainer(cell=cell)
    model_b, detailed = make_trainer(cell=cell)
    plain.step()
    plain_loss, _ = plain.step()
    detailed.step()
    inputs, targets = detailed.train_windows[1]
    state = detailed.state
    before = model_b.flat_params.copy()
    expected_probs = model_b.forward(inputs, state).probs
    details = detailed.step_in_detail()

    np.testing.assert_array_equal(model_a.flat_params, model_b.flat_params)  # the very same update
    assert details["loss"] == plain_loss and detailed.window == 2
    np.testing.assert_array_equal(details["inputs"], inputs)
    np.testing.assert_array_equal(details["targets"], targets)
    np.testing.assert_allclose(details["probs"], expected_probs)
    batch, steps = inputs.shape
    assert details["probs"].shape == (batch, steps, model_b.vocab_size)
    # the per-step losses are the cross-entropy of those predictions
    picked = np.take_along_axis(details["probs"], targets[..., None], axis=2)[..., 0]  # (B, T)
    np.testing.assert_allclose(details["step_losses"], -np.log(picked).mean(axis=0), rtol=1e-4)
    assert details["hidden_grad_norms"].shape == (1, steps) and np.all(details["hidden_grad_norms"] > 0)
    for name, update in details["updates"].items():
        np.testing.assert_allclose(update, model_b.params[name] - before[model_b.split(np.arange(model_b.num_params))[name]], atol=1e-7)


def test_stepping_in_detail_through_an_epoch_equals_training_it():
    model_a, trained = make_trainer(cell="gru")
    trained.train(1)
    model_b, stepped = make_trainer(cell="gru")
    for _ in range(stepped.steps_per_epoch):
        details = stepped.step_in_detail()
    assert stepped.epoch == 1 and stepped.window == 0
    assert stepped.history[0].train_loss == trained.history[0].train_loss
    np.testing.assert_array_equal(model_a.flat_params, model_b.flat_params)
    assert details["update_norms"]["Wh0"] == pytest.approx(float(np.linalg.norm(details["updates"]["Wh0"])))


def test_a_pickled_trainer_that_diverges_at_once_restores_the_parameters_before_its_last_step():
    # A worker's piece can diverge on its first step: the copy must still know the last good values.
    model, trainer = make_trainer(cell="rnn", optimizer="sgd", lr=1e9, clip=0)
    trainer.step()  # blows the parameters up; the loss check catches it at the next step
    good = trainer._good_params.copy()
    trainer = pickle.loads(pickle.dumps(trainer))
    with pytest.raises(DivergenceError):
        trainer.step()
    np.testing.assert_array_equal(trainer.model.flat_params, good)


def test_a_copy_reusing_an_earlier_copys_arrays_trains_the_same():
    _, straight = make_trainer(cell="lstm")
    straight.train(2)
    _, trainer = make_trainer(cell="lstm")
    trainer.train(2, max_steps=3)
    first = pickle.loads(pickle.dumps(trainer))
    first.train(2, max_steps=2)
    second = pickle.loads(pickle.dumps(first))
    second.model.reuse_workspace(first.model)  # as a worker does between pieces of one run
    second.train(2)
    np.testing.assert_array_equal(second.model.flat_params, straight.model.flat_params)
    with pytest.raises(ValueError, match="same configuration"):
        second.model.reuse_workspace(CharRNN(5, 16, "lstm"))


def test_stop_method_and_step_budget_keep_the_model():
    model, trainer = make_trainer(report_every=2)
    assert trainer.train(2, max_steps=3) == "steps"
    assert trainer.window == 3
    before = model.flat_params.copy()
    assert trainer.train(2, callback=lambda event: trainer.stop()) == "stopped"
    assert trainer.window == 4 and trainer.epoch == 0  # the first report after step 3 comes at step 4
    assert not np.array_equal(before, model.flat_params)
    assert trainer.train(2) == "done" and trainer.epoch == 2


def test_time_budget():
    _, trainer = make_trainer()
    assert trainer.train(10_000, max_seconds=0.2) == "time"
    assert trainer.epoch < 10_000


def test_learning_rate_can_change_between_steps():
    _, trainer = make_trainer()
    trainer.train(1)
    trainer.optimizer.lr = 0.001
    trainer.train(2)
    assert trainer.history[-1].lr == 0.001 and trainer.history[0].lr == 0.01


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adagrad", "rmsprop", "adam"])
def test_every_optimizer_lowers_the_loss(optimizer):
    lr = {"sgd": 0.3, "momentum": 0.1, "adagrad": 0.1, "rmsprop": 0.003, "adam": 0.01}[optimizer]
    _, trainer = make_trainer(cell="rnn", optimizer=optimizer, lr=lr)
    trainer.train(4)
    assert trainer.history[-1].train_loss < trainer.history[0].train_loss


@pytest.mark.parametrize("optimizer,shown", [("sgd", "SGD"), ("momentum", "Momentum"), ("adagrad", "Adagrad"), ("rmsprop", "RMSProp"), ("adam", "Adam")])
def test_divergence_stops_with_a_clear_error_and_restores_good_parameters(optimizer, shown):
    model, trainer = make_trainer(cell="rnn", optimizer=optimizer, lr=1e9, clip=0)
    with pytest.raises(DivergenceError, match="learning rate 1e\\+09") as caught:
        trainer.train(5)
    assert str(caught.value).startswith("Training diverged at epoch 1, step ")
    assert f"too high for {shown};" in str(caught.value) and str(caught.value).endswith("The last good parameters were restored.")
    assert np.all(np.isfinite(model.flat_params))
    x, y = trainer.train_windows[0]
    loss, _ = model.loss(x, y)
    assert loss < trainer.divergence_limit
    trainer.optimizer.lr = 0.01
    assert trainer.train(1) == "done"  # training can go on at a sane rate
    assert math.isfinite(trainer.history[-1].train_loss)


def uniform_loss(trainer):
    """ln V: the loss of guessing every character uniformly, near which training starts."""
    return math.log(trainer.model.vocab_size)


def diverged_rhyme_trainer():
    """The app's default run at SGD learning rate 10 without clipping, trained until it diverges."""
    trainer = rhyme_trainer(optimizer="sgd", lr=10.0, clip=0)
    with pytest.raises(DivergenceError, match="learning rate 10 ") as caught:
        trainer.train(20)
    return trainer, str(caught.value)


def test_after_divergence_the_restored_parameters_beat_guessing_uniformly():
    trainer, message = diverged_rhyme_trainer()
    assert message.startswith("Training diverged") and "too high for SGD;" in message
    assert trainer.validation_loss() < uniform_loss(trainer)
    # the epoch whose parameters blew up (validation above 30 nats) is not reported as finished
    assert trainer.history and all(stats.val_loss < uniform_loss(trainer) for stats in trainer.history)


def test_training_resumed_at_a_sane_rate_after_divergence_learns():
    trainer, _ = diverged_rhyme_trainer()
    restored = trainer.validation_loss()
    trainer.optimizer.lr, trainer.clip = 0.01, 5.0
    assert trainer.train(trainer.epoch + 3) == "done"
    assert trainer.history[-1].val_loss < restored < uniform_loss(trainer)


def test_a_healthy_run_that_overshoots_uniform_guessing_early_is_not_stopped():
    # This seed's loss climbs 3.5 nats above ln V in its first steps, the most of 120 help! runs
    _, _, trainer = help_trainer(seed=4)
    assert trainer.train(300) == "done"
    losses = [stats.train_loss for stats in trainer.history]
    assert max(losses) > uniform_loss(trainer) + 3 and losses[-1] < 0.05


def test_overfitting_past_the_limit_on_validation_is_not_divergence():
    # Trained on "abab...", held out "aabb...": the surer the model, the worse it does there
    text = "ab" * 180 + "aabb" * 10
    vocab = Vocab.from_text(text)
    trainer = Trainer(CharRNN(2, 16, "rnn", seed=0), vocab.encode(text), seq_len=16, batch_size=4, optimizer="adam", lr=0.03, val_fraction=0.1)
    assert trainer.train(30) == "done"
    assert trainer.history[-1].train_loss < 1e-3 and trainer.history[-1].val_loss > trainer.divergence_limit


def test_the_apps_default_run_does_not_diverge():
    trainer = rhyme_trainer()
    assert trainer.train(20) == "done"
    assert trainer.history[-1].val_loss < trainer.history[0].val_loss < uniform_loss(trainer)


def test_clipping_bounds_the_update():
    _, trainer = make_trainer(cell="rnn", optimizer="sgd", lr=1.0, clip=1e-3)
    before = trainer.model.flat_params.copy()
    trainer.train(1, max_steps=1)
    assert np.linalg.norm(trainer.model.flat_params - before) <= 1e-3 * 1.0001


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"batch_size": 1000}, "lower the batch size"),
        ({"val_fraction": 1.5}, "validation fraction"),
        ({"lr": float("nan")}, "learning rate"),
        ({"lr": -1.0}, "learning rate"),
        ({"lr": 0.0}, "learning rate"),
        ({"seq_len": 0}, "seq_len"),
        ({"clip": -1.0}, "clip"),
        ({"optimizer": "lbfgs"}, "unknown optimizer"),
    ],
)
def test_bad_training_settings_are_refused(overrides, match):
    with pytest.raises(ValueError, match=match):
        make_trainer(**overrides)


def test_too_short_text_for_validation():
    vocab = Vocab.from_text("abc")
    with pytest.raises(ValueError, match="validation"):
        Trainer(CharRNN(3, 4), vocab.encode("abcab"), seq_len=2, batch_size=1, val_fraction=0.1)
