"""Compare runs: kept runs, comparisons, the settings table, samples, rename, delete, export and import."""

import io
import zipfile

import pytest

from apptest_runs import current_run, kept_runs, owner_of, shown_samples, wait_until
from playground.service import get_service
from rnn_core import collection_to_bytes, load_many
from test_app import app, set_help_task, train_until_done

COMPARE = "pages/compare.py"


@pytest.fixture
def two_runs():
    """A session that has trained help! twice: Adagrad lr 0.1, then lr 0.05."""
    at = set_help_task(app())
    at.button(key="train_button").click().run()
    train_until_done(at)
    at.number_input(key="lr").set_value(0.05).run()
    at.button(key="train_button").click().run()
    at.button(key="confirm_button").click().run()
    train_until_done(at)
    return at.switch_page(COMPARE).run()


def test_finished_runs_are_kept_and_compared(two_runs):
    at = two_runs
    assert not at.exception
    records = kept_runs(at)
    assert [record.name for record in records] == ["RNN H=100 lr=0.1", "RNN H=100 lr=0.05"]
    assert at.multiselect(key="compare_selected").value == [record.run_id for record in records]
    chart = at.get("plotly_chart")[0].proto
    assert chart.spec.count('"name":"RNN H=100 lr=0.1"') == 1 and chart.spec.count('"name":"RNN H=100 lr=0.05"') == 1
    summary = at.dataframe[0].value
    assert list(summary["epochs"]) == [300, 300]
    assert all(summary["final train loss (bits/char)"] < 0.1)
    assert any("Highlighted: the settings that differ" in caption.value for caption in at.caption)
    # the same prime and seed for both: each model completes help! after "h"
    at.text_input(key="compare_prime").set_value("h").run()
    samples = [text for text, _ in shown_samples(at)]
    assert len(samples) == 2 and all(sample.startswith("help!") for sample in samples)


def test_the_settings_table_names_what_differs(two_runs):
    from playground import runs

    records = kept_runs(two_runs)
    assert runs.differing_settings(records) == ["lr"]
    rows = {row["setting"]: row for row in runs.settings_rows(records)}
    assert rows["Learning rate"]["RNN H=100 lr=0.1"] == "0.1" and rows["Learning rate"]["RNN H=100 lr=0.05"] == "0.05"
    assert rows["Cell"]["RNN H=100 lr=0.1"] == "RNN"


def test_rename_delete_and_a_taken_name(two_runs):
    at = two_runs
    at.selectbox(key="manage_run").select("RNN H=100 lr=0.05").run()
    record = kept_runs(at)[1]
    at.text_input(key=f"rename_{record.run_id}").set_value("RNN H=100 lr=0.1").run()
    at.button(key="rename_button").click().run()
    assert "already called" in " ".join(element.value for element in at.error)
    at.text_input(key=f"rename_{record.run_id}").set_value("RNN H=100 lr=0.1" + " " * 70 + "x").run()
    at.button(key="rename_button").click().run()
    assert "already called" in " ".join(element.value for element in at.error)  # the same name once cut to 80
    at.text_input(key=f"rename_{record.run_id}").set_value("slow").run()
    at.button(key="rename_button").click().run()
    assert [r.name for r in kept_runs(at)] == ["RNN H=100 lr=0.1", "slow"]
    at.selectbox(key="manage_run").select("RNN H=100 lr=0.1").run()
    at.button(key="delete_button").click().run()
    assert [r.name for r in kept_runs(at)] == ["slow"]
    assert not at.exception


def test_the_current_run_once_deleted_stays_deleted_until_it_trains_again(two_runs):
    at = two_runs
    current = current_run(at)
    at.selectbox(key="manage_run").select("RNN H=100 lr=0.05").run()
    at.button(key="delete_button").click().run()
    at.switch_page("pages/train.py").run()
    at.switch_page(COMPARE).run()
    assert [r.name for r in kept_runs(at)] == ["RNN H=100 lr=0.1"]
    current.resume(epochs=5)  # it trains further: kept again
    get_service().train(owner_of(at), current)
    at.switch_page("pages/train.py").run()
    train_until_done(at)
    assert [r.name for r in kept_runs(at)] == ["RNN H=100 lr=0.1", "RNN H=100 lr=0.05"]
    assert kept_runs(at)[1].summary["epochs"] == 305


def test_export_then_import_restores_every_run_and_a_bad_file_changes_nothing(two_runs):
    from playground import runs

    at = two_runs
    records = kept_runs(at)
    data = runs.export_bytes(records)
    assert [checkpoint.metadata["name"] for checkpoint in load_many(io.BytesIO(data))] == [r.name for r in records]

    fresh = []
    assert runs.import_records(data, fresh, limit=12) == [r.name for r in records]
    assert [r.summary for r in fresh] == [r.summary for r in records] and [r.curve for r in fresh] == [r.curve for r in records]
    assert runs.samples(fresh, "h", 3) == runs.samples(records, "h", 3)

    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(damaged, "w") as target:
        for index, member in enumerate(source.infolist()):
            content = source.read(member)
            target.writestr(member, content if index == 0 else content[: len(content) // 2])
    for bad in (damaged.getvalue(), b"garbage", data[:100]):
        before = list(fresh)
        with pytest.raises(ValueError, match="Nothing was changed"):
            runs.import_records(bad, fresh, limit=12)
        assert fresh == before
    checkpoints = load_many(io.BytesIO(data))
    checkpoints[0].metadata["summary"]["val_bpc"] = "oops"  # would break the results table on every visit
    tampered = collection_to_bytes([(c.model, c.vocab, c.metadata) for c in checkpoints])
    with pytest.raises(ValueError, match="val_bpc"):
        runs.import_records(tampered, fresh, limit=12)
    assert fresh == before
    with pytest.raises(ValueError, match="keeps up to 3"):
        runs.import_records(data, fresh, limit=3)
    assert fresh == before


def test_a_comparison_trains_each_variant_and_selects_them():
    at = set_help_task(app())
    at.switch_page(COMPARE).run()
    at.button(key="comparison_cells").click().run()
    assert wait_until(at, lambda: not owner_of(at).comparison) and not at.exception
    names = [record.name for record in kept_runs(at)]
    assert names == ["RNN vs LSTM vs GRU: RNN", "RNN vs LSTM vs GRU: LSTM", "RNN vs LSTM vs GRU: GRU"]
    assert at.multiselect(key="compare_selected").value == [record.run_id for record in kept_runs(at)]
    assert [record.settings.cell for record in kept_runs(at)] == ["rnn", "lstm", "gru"]


def test_runs_kept_are_capped(monkeypatch):
    monkeypatch.setenv("CHAR_RNN_MAX_RUNS_KEPT", "2")
    at = set_help_task(app())
    at.switch_page(COMPARE).run()
    at.button(key="comparison_cells").click().run()
    assert wait_until(at, lambda: not owner_of(at).comparison)
    assert [record.name for record in kept_runs(at)] == ["RNN vs LSTM vs GRU: LSTM", "RNN vs LSTM vs GRU: GRU"]
    assert not at.exception


def test_a_comparison_keeps_what_a_presenter_link_locked():
    at = app({"preset": "help!", "locked": "text,hidden_size,cell", "hidden_size": "16", "cell": "RNN", "seq_len": "4", "batch_size": "1", "epochs": "20", "val_fraction": "0.0"})
    at.switch_page(COMPARE).run()
    at.button(key="comparison_lr").click().run()
    assert wait_until(at, lambda: not owner_of(at).comparison) and not at.exception
    records = kept_runs(at)
    assert len(records) == 3 and {record.settings.hidden_size for record in records} == {16}
    assert {record.text_label for record in records} == {"help!"}
