"""A trainer saved as bytes (weights apart) and restored into a fresh one goes on bit for bit."""

import functools
import io
import json
import pickle

import numpy as np
import pytest

from rnn_core import CharRNN, CheckpointError, EpochStats, Trainer, Vocab, load, restore_training_state, to_bytes, training_state_to_bytes
from rnn_core.training_state import FORMAT_VERSION

TEXT = "the quick brown fox jumps over the lazy dog. " * 6
VOCAB = Vocab.from_text(TEXT)
# What depends on the clock: never equal between two runs, so left out of the comparisons of them.
TIMED = {"seconds", "elapsed", "chars_per_sec"}


def fresh_trainer(cell="gru", optimizer="adam", model=None, seed=3, dropout=0.0, **settings):
    """A tiny two-layer trainer: 8 steps an epoch, a live curve point every 3 steps."""
    model = model or CharRNN(len(VOCAB), 8, cell, num_layers=2, seed=seed, dropout=dropout)
    settings = dict(seq_len=8, batch_size=4, lr=0.01, clip=1.0, val_fraction=0.1, report_every=3) | settings
    return Trainer(model, VOCAB.encode(TEXT), optimizer=optimizer, **settings)


def saved_and_restored(trainer, **settings):
    """A new trainer built around the saved model, its state restored, as the app does after a restart."""
    model = load(io.BytesIO(to_bytes(trainer.model, VOCAB))).model
    restored = fresh_trainer(trainer.model.cell_name, trainer.optimizer.name, model, **settings)
    restore_training_state(restored, training_state_to_bytes(trainer))
    return restored


def untimed(values):
    return {key: value for key, value in values.items() if key not in TIMED}


def snapshot(trainer, timed=True):
    """Everything a trainer carries from step to step, as copies."""
    keep = (lambda values: values) if timed else untimed
    return {
        "params": trainer.model.flat_params.copy(),
        "optimizer": {key: np.copy(value) for key, value in trainer.optimizer.state().items()},
        "lr": trainer.optimizer.lr,
        "good_params": trainer._good_params.copy(),
        "good_optimizer": {key: np.copy(value) for key, value in trainer._good_optimizer.items()},
        "state": [np.copy(array) for layer in trainer.state for array in layer],
        "settings": (trainer.clip, trainer.report_every, trainer.window),
        "schedule": (trainer.lr_schedule, trainer.lr_final, trainer.warmup, trainer.total_steps),
        "dropout_rng": trainer.dropout_rng.bit_generator.state,
        "sums": keep(trainer._sums),
        "history": [keep(stats.to_dict()) for stats in trainer.history],
        "progress": list(trainer.progress),
    }


def assert_identical(a, b):
    """Equal bit for bit, with the same types and dtypes all the way down."""
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_identical(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_identical(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    else:
        assert a == b


def train_and_record(trainer, epochs, steps):
    """Train, returning the reports without their timings (losses, gradient norms, fractions)."""
    events = []
    trainer.train(epochs, max_steps=steps, callback=events.append)
    return [untimed(event) for event in events]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adagrad", "rmsprop", "adam"])
def test_a_trainer_restored_part_way_into_an_epoch_goes_on_bit_for_bit(cell, optimizer):
    trainer = fresh_trainer(cell, optimizer)
    trainer.train(4, max_steps=trainer.steps_per_epoch + 5)  # 5 steps into the second epoch
    assert trainer.window == 5 and len(trainer.progress) == 4  # steps 3 and 6, the end of epoch 1, step 3
    restored = saved_and_restored(trainer, report_every=None, clip=5.0)  # both come from the state
    assert_identical(snapshot(restored), snapshot(trainer))
    # Through the end of the second epoch (validation, history) and into the third.
    steps = trainer.steps_per_epoch + 2
    assert_identical(train_and_record(restored, 4, steps), train_and_record(trainer, 4, steps))
    assert_identical(snapshot(restored, timed=False), snapshot(trainer, timed=False))


def test_a_trainer_restored_at_an_epoch_boundary_goes_on_bit_for_bit():
    trainer = fresh_trainer("lstm")
    trainer.train(2)
    assert trainer.window == 0 and trainer.epoch == 2
    restored = saved_and_restored(trainer)
    assert_identical(snapshot(restored), snapshot(trainer))
    assert_identical(train_and_record(restored, 4, None), train_and_record(trainer, 4, None))
    assert_identical(snapshot(restored, timed=False), snapshot(trainer, timed=False))


SCHEDULED = dict(lr_schedule="cosine", lr_final=0.05, warmup=5, dropout=0.3)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_cosine_schedule_with_warm_up_and_dropout_goes_on_bit_for_bit(cell):
    trainer = fresh_trainer(cell, **SCHEDULED)
    trainer.train(4, max_steps=trainer.steps_per_epoch + 2)  # 2 steps into the second epoch
    # built with the default constant schedule: the schedule, like the rate, comes from the state
    restored = saved_and_restored(trainer)
    assert restored.lr_schedule == "cosine" and restored.model.dropout == 0.3
    assert_identical(snapshot(restored), snapshot(trainer))
    steps = trainer.steps_per_epoch + 3
    assert_identical(train_and_record(restored, 4, steps), train_and_record(trainer, 4, steps))
    assert_identical(snapshot(restored, timed=False), snapshot(trainer, timed=False))


def test_stopping_saving_and_resuming_a_scheduled_run_equals_training_it_straight_through():
    straight = fresh_trainer("lstm", **SCHEDULED)
    straight_events = train_and_record(straight, 3, None)
    stopped = fresh_trainer("lstm", **SCHEDULED)
    first = train_and_record(stopped, 3, 3)  # inside the warm-up
    restored = saved_and_restored(stopped)
    second = train_and_record(restored, 3, 10)  # past it, into the second epoch
    restored = saved_and_restored(restored)
    rest = train_and_record(restored, 3, None)
    assert_identical(first + second + rest, straight_events)
    assert_identical(snapshot(restored, timed=False), snapshot(straight, timed=False))
    assert straight.history[-1].lr == pytest.approx(0.01 * 0.05)


def version_1(data):
    """A version 2 state as version 1 wrote it: no schedule, no dropout generator, no rates in the curve."""
    data = replaced(data, "format_version", lambda array: np.array(1))
    data = replaced(data, "progress", lambda array: array[:, :2])
    return edited(data, lambda d: [d.pop(key) for key in ("lr_schedule", "lr_final", "warmup", "total_steps", "dropout_rng")])


def test_a_version_1_state_loads_as_a_constant_rate_and_goes_on_bit_for_bit():
    trainer = fresh_trainer("gru")
    trainer.train(4, max_steps=trainer.steps_per_epoch)
    trainer.optimizer.lr = 0.005  # a Resume at another rate, as version 1 runs could have had
    trainer.train(4, max_steps=4)
    model = load(io.BytesIO(to_bytes(trainer.model, VOCAB))).model
    restored = fresh_trainer("gru", model=model, lr_schedule="linear", warmup=50)
    restore_training_state(restored, version_1(training_state_to_bytes(trainer)))
    assert (restored.lr_schedule, restored.warmup) == ("constant", 0)
    # each curve point gets the rate of its epoch: 0.01 in the first, 0.005 after
    assert [lr for _, _, lr in restored.progress] == [0.01, 0.01, 0.01, 0.005]
    assert restored.progress == trainer.progress
    steps = trainer.steps_per_epoch + 2
    assert_identical(train_and_record(restored, 4, steps), train_and_record(trainer, 4, steps))
    np.testing.assert_array_equal(restored.model.flat_params, trainer.model.flat_params)


@pytest.mark.parametrize("val_fraction", [0.1, 0])
def test_the_history_round_trips_through_json_as_epoch_stats(val_fraction):
    trainer = fresh_trainer(val_fraction=val_fraction)
    trainer.train(3)
    restored = saved_and_restored(trainer, val_fraction=val_fraction)
    assert all(isinstance(stats, EpochStats) for stats in restored.history)
    assert_identical([stats.to_dict() for stats in restored.history], [stats.to_dict() for stats in trainer.history])
    assert (restored.history[0].val_loss is None) == (val_fraction == 0)


def test_saving_between_the_last_step_of_an_epoch_and_its_finish_is_refused():
    trainer = fresh_trainer()
    for _ in range(trainer.steps_per_epoch):
        trainer.step()  # a bare step does not finish the epoch; train() and step_in_detail() do
    with pytest.raises(ValueError, match="finishing an epoch"):
        training_state_to_bytes(trainer)


def replaced(data, entry, change):
    """`data` with the array `entry` replaced by change(array), or dropped if that is None."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays[entry] = change(arrays[entry])
    if arrays[entry] is None:
        del arrays[entry]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def edited(data, change):
    """`data` with its JSON description changed in place by change(description)."""

    def rewrite(text):
        description = json.loads(str(text))
        change(description)
        return np.array(json.dumps(description))

    return replaced(data, "description", rewrite)


def with_nan(array):
    array = array.copy()
    array.flat[0] = np.nan
    return array


class Boom:
    def __reduce__(self):
        return (exec, ("raise SystemExit('pickled code ran')",))


@functools.cache
def bad_states():
    """label -> bytes, each made from a trainer 4 steps into its second epoch, that restoring must refuse."""
    trainer = fresh_trainer()
    trainer.train(4, max_steps=trainer.steps_per_epoch + 4)
    good = training_state_to_bytes(trainer)
    return {
        "not bytes": None,
        "empty": b"",
        "garbage": b"not a state at all",
        "truncated": good[: len(good) // 2],
        "pickled": pickle.dumps({"buffers": [1, 2, 3]}),
        "pickled entry": replaced(good, "buffer.mean", lambda array: np.array([Boom()], dtype=object)),
        "a model checkpoint": to_bytes(trainer.model, VOCAB),
        "another optimiser": training_state_to_bytes(fresh_trainer(optimizer="adagrad")),
        "another window length": training_state_to_bytes(fresh_trainer(seq_len=7)),
        "wrong-shaped buffer": replaced(good, "buffer.mean", lambda array: array[:-1]),
        "integer buffer": replaced(good, "buffer.mean", lambda array: array.astype(np.int64)),
        "NaN in a buffer": replaced(good, "buffer.mean", with_nan),
        "NaN in the good parameters": replaced(good, "good_params", with_nan),
        "wrong-shaped hidden state": replaced(good, "hidden_state", lambda array: array[:1]),
        "missing entry": replaced(good, "good.mean_square", lambda array: None),
        "future version": replaced(good, "format_version", lambda array: np.array(FORMAT_VERSION + 1)),
        "version 1 with version 2's entries": replaced(good, "format_version", lambda array: np.array(1)),
        "version 1 with learning rates in the curve": replaced(version_1(good), "progress", lambda array: np.column_stack([array, array[:, 1]])),
        "unknown schedule": edited(good, lambda d: d.update(lr_schedule="exponential")),
        "final fraction above 1": edited(good, lambda d: d.update(lr_final=2.0)),
        "negative warm-up": edited(good, lambda d: d.update(warmup=-1)),
        "zero horizon": edited(good, lambda d: d.update(total_steps=0)),
        "another bit generator": edited(good, lambda d: d["dropout_rng"].update(bit_generator="MT19937")),
        "generator state too large": edited(good, lambda d: d["dropout_rng"]["state"].update(state=2**130)),
        "generator state not a number": edited(good, lambda d: d["dropout_rng"]["state"].update(inc="1")),
        "generator missing a field": edited(good, lambda d: d["dropout_rng"].pop("uinteger")),
        "bad JSON": replaced(good, "description", lambda text: np.array("{not json")),
        "JSON list": replaced(good, "description", lambda text: np.array("[]")),
        "window past the epoch": edited(good, lambda d: d.update(window=trainer.steps_per_epoch)),
        "infinite learning rate": edited(good, lambda d: d.update(lr=float("inf"))),
        "good state ahead": edited(good, lambda d: d.update(good_steps=d["steps"] + 1)),
        "sums missing a key": edited(good, lambda d: d["sums"].pop("chars")),
        "fractional char count": edited(good, lambda d: d["sums"].update(chars=1.5)),
        "history entry cut short": edited(good, lambda d: d["history"][0].pop("lr")),
        "history out of order": edited(good, lambda d: d["history"][0].update(epoch=2)),
        "more curve points than stored": edited(good, lambda d: d.update(progress_points=10**9)),
    }


@pytest.mark.parametrize("label", list(bad_states()))
def test_a_bad_state_is_refused_in_plain_words_and_the_trainer_is_unchanged(label):
    data = bad_states()[label]
    target = fresh_trainer(seed=5)
    target.train(4, max_steps=2)  # a state of its own, so that any part written over would show
    before = snapshot(target)
    with pytest.raises(CheckpointError) as caught:
        restore_training_state(target, data)
    assert str(caught.value) and "Traceback" not in str(caught.value)
    assert_identical(snapshot(target), before)
