"""The app's session logic, without Streamlit."""

import os

import pytest

from playground import workers
from playground.presets import PRESETS, preset_text
from playground.state import MAX_CHART_POINTS, Settings, TrainingRun, bptt_experiment


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_trains_with_the_settings_it_brings(key):
    text = preset_text(key)
    assert len(text) >= 5 and len(set(text)) >= 2
    run = TrainingRun(text, Settings(**PRESETS[key].settings))  # would raise, in the user's words, if it could not
    run.trainer.train(1, max_steps=2)


def test_long_curves_are_downsampled_keeping_the_last_point():
    run = TrainingRun(preset_text("help"), Settings(cell="rnn", seq_len=4, batch_size=1, val_fraction=0.0, epochs=2000))
    run.trainer.train(2000)
    curve = run.curve()
    assert len(curve["train"]) <= MAX_CHART_POINTS + 1
    assert curve["train"][-1][0] == 2000.0


@pytest.mark.parametrize("settings,match", [(dict(hidden_size=0), "Hidden size"), (dict(lr=50.0), "Learning rate"), (dict(cell="cnn"), "cell")])
def test_settings_out_of_range_are_named(settings, match):
    with pytest.raises(ValueError, match=match):
        TrainingRun(preset_text("rhyme"), Settings(**settings))


def test_bptt_experiment_shows_why_the_gradient_must_flow_back():
    curves = bptt_experiment("help")
    assert set(curves) == {"full BPTT", "horizon 1 (no BPTT)"}
    assert all(len(losses) == 300 and losses[-1] < 0.05 for losses in curves.values())


def test_training_runs_in_worker_processes_below_the_server_priority():
    pool = workers._pool_of_workers()
    assert pool.submit(os.getpid).result() != os.getpid()
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    assert pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result() == min(19, niceness + workers.NICENESS)


def test_a_presenter_link_locks_the_named_settings_with_its_values_or_the_defaults():
    from playground.state import locked_from_link

    locked, text_locked, refused = locked_from_link({"locked": "cell,lr,epochs,text,seed,colour", "cell": "LSTM", "lr": "0.01", "seed": "x1"})
    assert locked == {"cell": "lstm", "lr": 0.01, "epochs": Settings().epochs}
    assert text_locked and refused == ["colour", "seed"]
    locked, text_locked, refused = locked_from_link({"locked": "all", "hidden_size": "5000"})
    assert "hidden_size" not in locked and refused == ["hidden_size"] and len(locked) == len(Settings.__dataclass_fields__) - 1
    assert locked_from_link({}) == ({}, False, [])


def test_resume_takes_the_new_settings_and_is_held_to_the_caps():
    from playground.limits import Caps

    run = TrainingRun(preset_text("help"), Settings(cell="rnn", seq_len=4, batch_size=1, val_fraction=0.0, epochs=5))
    run.trainer.train(5)
    run.status = "done"
    with pytest.raises(ValueError, match="epochs"):
        run.resume(epochs=5000, caps=Caps(training_chars=1000))
    assert run.target_epochs == 5 and run.status == "done"  # unchanged
    run.resume(epochs=8, lr=0.01, clip=2.0)
    assert (run.settings.epochs, run.settings.lr, run.settings.clip) == (8, 0.01, 2.0)
    assert run.trainer.optimizer.lr == 0.01 and run.trainer.clip == 2.0
