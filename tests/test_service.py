"""The training service and the run store, without Streamlit: runs train whatever the pages do."""

import os
import sqlite3
import threading
import time
from concurrent.futures import Future

import numpy as np
import pytest

from playground import service as service_module
from playground import workers
from playground.limits import Caps
from playground.presets import preset_text
from playground.service import PAUSED_MESSAGE, REDRAWS_PER_SECOND, RESTARTED_MESSAGE, TrainingService
from playground.state import Settings, TrainingRun
from playground.store import FILE_NAME, RunStore, StoreFull

HELP = Settings(cell="rnn", hidden_size=32, seq_len=4, batch_size=1, optimizer="adagrad", lr=0.1, val_fraction=0.0, epochs=300)


def new_store(folder, owner_mb=200):
    return RunStore(folder, owner_mb << 20, 1000 << 20, 7)


@pytest.fixture
def service(tmp_path):
    service = TrainingService(new_store(tmp_path))
    service.start()
    yield service
    service.shutdown()


def wait_while_training(run, timeout=60):
    deadline = time.monotonic() + timeout
    while (run.training or run.in_flight) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not run.training


def start(service, owner_id, text, settings):
    owner = service.owner(owner_id)
    run = TrainingRun(text, settings)
    service.replace_current(owner, run)
    service.train(owner, run)
    return owner, run


def test_a_run_trains_to_the_end_and_comes_back_bit_for_bit_in_a_new_process(service, tmp_path):
    owner, run = start(service, "a" * 32, preset_text("help"), HELP)
    assert wait_while_training(run) and run.status == "done" and run.epoch == 300
    assert run.samples and run.samples[-1][1].startswith("h")
    service.keep(owner, run)
    later = TrainingService(new_store(tmp_path))  # another process, or the same server restarted
    again = later.owner("a" * 32)
    np.testing.assert_array_equal(again.current.model.flat_params, run.model.flat_params)
    assert [stats.to_dict() for stats in again.current.history] == [stats.to_dict() for stats in run.history]
    assert again.current.status == "done" and again.current.samples == run.samples[-50:]
    assert [record.run_id for record in again.kept] == [run.run_id]
    np.testing.assert_array_equal(again.kept[0].model.flat_params, run.model.flat_params)
    assert later.owner("b" * 32).current is None  # another browser sees none of it


def test_a_run_saved_mid_training_comes_back_stopped_at_its_last_save_and_resumes(service, tmp_path):
    owner, run = start(service, "c" * 32, preset_text("rhyme"), Settings(epochs=5000))
    time.sleep(6.5)  # past a save while training
    later = TrainingService(new_store(tmp_path))
    again = later.owner("c" * 32).current
    assert again.status == "stopped" and again.message == RESTARTED_MESSAGE and 0 < again.epoch <= run.epoch
    service.stop(run)
    later.start()
    try:
        before = again.trainer.epoch_fraction
        again.resume()
        later.train(later.owner("c" * 32), again)
        deadline = time.monotonic() + 20
        while again.trainer.epoch_fraction <= before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert again.trainer.epoch_fraction > before
    finally:
        later.stop(again)
        later.shutdown()


def test_stop_acts_within_a_second_and_nothing_trains_afterwards(service):
    _, run = start(service, "d" * 32, preset_text("rhyme"), Settings(epochs=5000))
    time.sleep(1.0)
    stopped = time.monotonic()
    service.stop(run)
    assert wait_while_training(run) and time.monotonic() - stopped < 1.5
    while run.in_flight:
        time.sleep(0.05)
    weights = run.model.flat_params.copy()
    time.sleep(1.2)
    np.testing.assert_array_equal(run.model.flat_params, weights)
    assert run.status == "stopped" and run.epoch > 0


def test_runs_take_fair_turns_and_waiting_ones_know_their_place(service):
    runs = [start(service, f"{index:032x}", preset_text("rhyme"), Settings(epochs=5000, seed=index))[1] for index in range(5)]
    # Each run's first piece is short (its first point), so in the first second the runs change
    # places quickly, and for a moment after a piece lands a worker is free and nobody waits.
    # Between those moments, two train and three wait, and each of those knows its place.
    waiting = list(range(1, len(runs) - workers.WORKERS + 1))
    deadline = time.monotonic() + 5
    places = []
    while places != waiting and time.monotonic() < deadline:
        places = sorted(place for place in map(service.queue_place, runs) if place is not None)
        time.sleep(0.02)
    assert places == waiting
    time.sleep(12)
    progress = [run.trainer.epoch_fraction for run in runs]
    for run in runs:
        service.stop(run)
    assert min(progress) > 0 and min(progress) >= 0.5 * max(progress), progress


def test_the_next_turn_goes_to_the_least_served_run_and_a_newcomer_starts_level(tmp_path, monkeypatch):
    service = TrainingService(new_store(tmp_path))  # not started: the test hands out the turns itself
    given = []
    monkeypatch.setattr(workers, "start_piece", lambda run_id, *args, **kwargs: given.append(run_id) or Future())
    monkeypatch.setattr(workers, "WORKERS", 2)
    served = [3.0, 1.0, 2.0, 5.0]
    runs = [TrainingRun(preset_text("rhyme"), Settings(epochs=5000, seed=index)) for index in range(len(served) + 1)]
    for index, (run, seconds) in enumerate(zip(runs, served)):
        service.train(service.owner(f"{index:032x}"), run)
        run.served_seconds = seconds  # as if its pieces had landed
    newcomer = runs[-1]
    service.train(service.owner(f"{len(served):032x}"), newcomer)
    assert newcomer.served_seconds == 1.0  # level with the least served: not a whole round behind, nor owed one
    back = TrainingRun(preset_text("rhyme"), HELP)
    back.served_seconds = 50.0  # trained alone before the others came, then stopped
    service.train(service.owner(f"{len(served) + 1:032x}"), back)
    assert back.served_seconds == 1.0
    service.stop(back)
    service._fill_workers()  # the scheduler thread's step: a worker each to the two least served, first come first
    assert given == [runs[1].run_id, newcomer.run_id]
    assert [service.queue_place(run) for run in runs[:-1]] == [2, None, 1, 3]


def test_pages_redraw_less_often_when_many_runs_train(service):
    assert service.watch_interval(1.0) == 1.0 and service.watch_interval(2.0) == 2.0
    runs = [start(service, f"{index:032x}", preset_text("rhyme"), Settings(epochs=5000, seed=index))[1] for index in range(2 * REDRAWS_PER_SECOND + 1)]
    # 41 runs' pages at 3 s redraw 14 times a second in all; at 2 s they would pass 20
    assert service.watch_interval(1.0) == 3.0 and service.watch_interval(2.0) == 3.0 and service.watch_interval(5.0) == 5.0
    for run in runs:
        service.stop(run)
    assert all(wait_while_training(run) for run in runs)
    assert service.watch_interval(1.0) == 1.0


def test_a_run_whose_piece_is_being_landed_still_counts_as_training(service, monkeypatch):
    monkeypatch.setattr(service_module, "REDRAWS_PER_SECOND", 1)  # three runs training: pages redraw every 3 s
    runs = [start(service, f"{index:032x}", preset_text("rhyme"), Settings(epochs=5000, seed=index))[1] for index in range(3)]
    landing, release = threading.Event(), threading.Event()
    land = runs[0].land

    def held_land(piece):
        landing.set()
        release.wait(10)
        return land(piece)

    runs[0].land = held_land
    try:
        assert landing.wait(10), "the run's piece never came back"
        assert service.watch_interval(1.0) == 3.0  # it counted as gone while it was landed: 2.0, and pages changed pace
    finally:
        release.set()
        for run in runs:
            service.stop(run)
    assert all(wait_while_training(run) for run in runs)


def test_a_run_whose_owner_left_is_paused_after_the_session_ttl(tmp_path):
    connected = {"yes": True}
    service = TrainingService(new_store(tmp_path), session_ttl=1.0, is_connected=lambda session: connected["yes"])
    service.start()
    try:
        owner = service.owner("e" * 32, session_id="session-1")
        run = TrainingRun(preset_text("rhyme"), Settings(epochs=5000))
        service.replace_current(owner, run)
        service.train(owner, run)
        time.sleep(2.5)
        assert run.training  # a connected session keeps it going, on any page
        connected["yes"] = False
        assert wait_while_training(run, timeout=10) and run.status == "paused" and run.message == PAUSED_MESSAGE
        assert TrainingService(new_store(tmp_path)).owner("e" * 32).current.status == "paused"
    finally:
        service.shutdown()


def test_a_lost_worker_stops_the_run_keeps_the_model_and_resume_goes_on(service):
    owner, run = start(service, "f" * 32, preset_text("rhyme"), Settings(epochs=5000))
    time.sleep(1.5)

    def kill_workers():
        for process in list(workers._pool_of_workers()._processes.values()):
            process.kill()

    threading.Timer(0.1, kill_workers).start()
    assert wait_while_training(run, timeout=20)
    assert run.status == "stopped" and "stopped unexpectedly" in run.message
    assert np.all(np.isfinite(run.model.flat_params))
    fraction = run.trainer.epoch_fraction
    run.resume()
    service.train(owner, run)
    # the lost pool's successor is spawned cold on this Resume (numpy and the engine to load): on a
    # busy machine that took more than the 2 s this test once slept
    deadline = time.monotonic() + 30
    while run.trainer.epoch_fraction <= fraction and time.monotonic() < deadline:
        time.sleep(0.1)
    service.stop(run)
    assert run.trainer.epoch_fraction > fraction


def test_a_comparisons_variants_train_side_by_side_and_are_kept_in_order(service):
    owner = service.owner("9" * 32)
    variants = [(f"comparison: {cell}", TrainingRun(preset_text("help"), Settings(**{**HELP.as_dict(), "cell": cell, "epochs": 50}))) for cell in ("rnn", "lstm", "gru")]
    service.train_comparison(owner, variants, seconds=8)
    for _, run in variants:
        assert wait_while_training(run)
    deadline = time.monotonic() + 5
    while len(owner.kept) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [record.name for record in owner.kept] == ["comparison: rnn", "comparison: lstm", "comparison: gru"]
    assert owner.current is None  # a comparison trains beside the current run, never instead of it


def test_training_runs_in_worker_processes_below_the_server_priority():
    import os

    pool = workers._pool_of_workers()
    assert pool.submit(os.getpid).result() != os.getpid()
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    assert pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result() == min(19, niceness + workers.NICENESS)


def test_forget_deletes_every_run_of_the_owner_at_once(service, tmp_path):
    owner, run = start(service, "1" * 32, preset_text("help"), HELP)
    wait_while_training(run)
    service.keep(owner, run)
    service.forget(owner)
    assert owner.current is None and owner.kept == []
    store = new_store(tmp_path)
    assert store.runs("1" * 32, "current") == [] and store.runs("1" * 32, "kept") == [] and store.usage("1" * 32) == 0


def test_the_store_caps_an_owners_disk_and_names_the_cap(tmp_path):
    store = new_store(tmp_path, owner_mb=1)
    store.save("2" * 32, "kept", "r1", {}, b"x" * 600_000)
    with pytest.raises(StoreFull, match="CHAR_RNN_MAX_OWNER_MB"):
        store.save("2" * 32, "kept", "r2", {}, b"x" * 600_000)
    assert [row["run_id"] for row in store.runs("2" * 32, "kept")] == ["r1"]


def test_runs_not_opened_for_the_idle_days_expire(tmp_path):
    store = new_store(tmp_path)
    store.save("3" * 32, "kept", "r1", {}, b"model", text="a text")
    assert store.expire(now=time.time() + 6 * 86400) == 0
    assert store.expire(now=time.time() + 8 * 86400) == 1
    assert store.runs("3" * 32, "kept") == []


@pytest.mark.parametrize("damage", ["garbage", "another version"])
def test_a_store_file_that_is_corrupt_or_of_another_version_is_set_aside(tmp_path, damage, caplog):
    store = new_store(tmp_path)
    store.save("4" * 32, "kept", "r1", {}, b"model")
    store.close()
    path = tmp_path / FILE_NAME
    for suffix in ("-wal", "-shm"):
        (tmp_path / (FILE_NAME + suffix)).unlink(missing_ok=True)
    if damage == "garbage":
        path.write_bytes(b"this is not a database " * 100)
    else:
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA user_version = 99")
    fresh = new_store(tmp_path)
    assert fresh.runs("4" * 32, "kept") == []
    fresh.save("4" * 32, "kept", "r2", {}, b"model")  # the fresh store works
    assert any(name.name.startswith(FILE_NAME + ".broken-") for name in tmp_path.iterdir())
    assert "set aside" in caplog.text


def test_two_stores_on_one_file_share_it(tmp_path):
    first, second = new_store(tmp_path), new_store(tmp_path)
    first.save("5" * 32, "kept", "r1", {"n": 1}, b"model")
    assert second.runs("5" * 32, "kept")[0]["description"] == {"n": 1}


def test_caps_for_the_store_come_from_the_environment():
    caps = Caps.from_environment({"CHAR_RNN_MAX_OWNER_MB": "3", "CHAR_RNN_MAX_STORE_MB": "40", "CHAR_RNN_MAX_IDLE_DAYS": "2"})
    assert (caps.owner_mb, caps.store_mb, caps.idle_days) == (3, 40, 2)


def test_each_worker_uses_one_blas_thread_unless_told_otherwise(service):
    # two workers of two spinning OpenBLAS threads each on two cores trained 20 times slower
    pool = workers._pool_of_workers()
    assert [pool.submit(os.getenv, variable).result() for variable in workers.BLAS_THREAD_VARIABLES] == ["1"] * 3


def test_a_store_of_the_previous_version_gains_the_lesson_and_room_tables_and_keeps_its_runs(tmp_path):
    store = new_store(tmp_path)
    store.save("a" * 32, "kept", "run-1", {"name": "kept"}, b"model")
    store.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as connection:  # as version 3 left it
        for table in ("lesson_steps", "rooms", "room_members"):
            connection.execute(f"DROP TABLE {table}")
        connection.execute("PRAGMA user_version = 3")
    again = new_store(tmp_path)
    assert [row["run_id"] for row in again.runs("a" * 32, "kept")] == ["run-1"]
    again.finish_step("a" * 32, "temperature", 0, "done")
    assert again.lesson_steps("a" * 32) == {"temperature": {0: "done"}}
    assert not list(tmp_path.glob(f"{FILE_NAME}.broken-*"))
