"""The app's session logic, without Streamlit."""

import os
import threading

import numpy as np
import pytest

from playground import workers
from playground.presets import PRESETS, preset_text
from playground.state import MAX_CHART_POINTS, Settings, TrainingRun, bptt_experiment


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_loads_a_trainable_text(key):
    text = preset_text(key)
    assert len(text) >= 5 and len(set(text)) >= 2


def test_advance_trains_in_slices_and_redraws_between_them():
    run = TrainingRun(preset_text("rhyme"), Settings(epochs=5000))
    run.start()
    redraws = []
    run.advance(0.6, redraw=lambda: redraws.append(run.epoch), redraw_every=0.1)
    assert run.training and run.epoch > 0 and len(redraws) >= 3
    assert redraws == sorted(redraws)
    assert run.samples and run.samples[-1][0] <= run.epoch
    assert run.eta_seconds > 0


def test_resume_goes_on_to_the_target_or_that_many_more():
    run = TrainingRun(preset_text("help"), Settings(cell="rnn", seq_len=4, batch_size=1, val_fraction=0.0, epochs=5))
    run.start()
    run.advance(5)
    assert run.status == "done" and run.epoch == 5
    run.resume(epochs=5)
    assert run.target_epochs == 10
    run.advance(5)
    assert run.epoch == 10 and len(run.history) == 10


def test_stop_keeps_the_model():
    run = TrainingRun(preset_text("rhyme"), Settings(epochs=5000))
    run.start()
    run.advance(0.3)
    run.stop()
    epoch = run.epoch
    run.advance(0.3)
    assert run.status == "stopped" and run.epoch == epoch


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


def test_a_session_waits_while_every_training_slot_is_taken():
    from playground.state import TRAINING_SLOTS

    run = TrainingRun(preset_text("rhyme"), Settings(epochs=50))
    run.start()
    taken = 0
    while TRAINING_SLOTS.acquire(blocking=False):
        taken += 1
    try:
        run.advance(0.2)
        assert run.waiting and run.epoch == 0 and run.training
    finally:
        for _ in range(taken):
            TRAINING_SLOTS.release()
    run.advance(0.5)
    assert not run.waiting and run.epoch > 0


def test_training_runs_in_worker_processes_below_the_server_priority():
    pool = workers._pool_of_workers()
    assert pool.submit(os.getpid).result() != os.getpid()
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    assert pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result() == min(19, niceness + workers.NICENESS)


def test_a_lost_worker_stops_the_run_keeps_the_model_and_resume_goes_on():
    run = TrainingRun(preset_text("rhyme"), Settings(epochs=5000))
    run.start()
    run.advance(0.3)
    before, fraction = run.model.flat_params.copy(), run.trainer.epoch_fraction

    def kill_workers():
        for process in list(workers._pool_of_workers()._processes.values()):
            process.kill()

    threading.Timer(0.3, kill_workers).start()
    run.advance(2.0, redraw_every=2.0)
    assert run.status == "stopped" and "stopped unexpectedly" in run.message
    np.testing.assert_array_equal(run.model.flat_params, before)
    run.resume()
    run.advance(0.5)
    assert run.training and run.trainer.epoch_fraction > fraction


def test_a_presenter_link_locks_the_named_settings_with_its_values_or_the_defaults():
    from playground.state import locked_from_link

    locked, text_locked, refused = locked_from_link({"locked": "cell,lr,epochs,text,seed,colour", "cell": "LSTM", "lr": "0.01", "seed": "x1"})
    assert locked == {"cell": "lstm", "lr": 0.01, "epochs": Settings().epochs}
    assert text_locked and refused == ["colour", "seed"]
    locked, text_locked, refused = locked_from_link({"locked": "all", "hidden_size": "5000"})
    assert "hidden_size" not in locked and refused == ["hidden_size"] and len(locked) == len(Settings.__dataclass_fields__) - 1
    assert locked_from_link({}) == ({}, False, [])


def test_a_page_run_ended_at_a_redraw_keeps_the_piece_already_sent():
    run = TrainingRun(preset_text("rhyme"), Settings(epochs=5000))
    run.start()

    class PageRunEnded(BaseException):  # like Streamlit's StopException on Stop or a closed tab
        pass

    at_redraw = []

    def redraw():
        at_redraw.append(run.trainer.epoch_fraction)
        raise PageRunEnded

    with pytest.raises(PageRunEnded):
        run.advance(3.0, redraw=redraw, redraw_every=0.3)
    assert run.trainer.epoch_fraction > at_redraw[0]  # the next piece, sent before the redraw, landed


def test_resume_takes_the_new_settings_and_is_held_to_the_caps():
    from playground.limits import Caps

    run = TrainingRun(preset_text("help"), Settings(cell="rnn", seq_len=4, batch_size=1, val_fraction=0.0, epochs=5))
    run.start()
    run.advance(5)
    with pytest.raises(ValueError, match="epochs"):
        run.resume(epochs=5000, caps=Caps(training_chars=1000))
    assert run.target_epochs == 5 and run.status == "done"  # unchanged
    run.resume(epochs=8, lr=0.01, clip=2.0)
    assert (run.settings.epochs, run.settings.lr, run.settings.clip) == (8, 0.01, 2.0)
    assert run.trainer.optimizer.lr == 0.01 and run.trainer.clip == 2.0
