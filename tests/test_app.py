"""The app through Streamlit's AppTest: every page, training, stop and resume, links, uploads."""

import json
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_runs import chart_spec, current_run, kept_runs, owner_of, page_html, shown_samples, wait_for_run, wait_until
from conftest import ROOT
from playground import service as service_module
from playground.service import get_service
from playground.ui.common import ordinal
from rnn_core import CharRNN, Vocab, to_bytes

ENTRY = str(ROOT / "streamlit_app.py")
HELP_SETTINGS = {"cell": "rnn", "hidden_size": 100, "seq_len": 4, "batch_size": 1, "optimizer": "adagrad", "lr": 0.1, "epochs": 300, "val_fraction": 0.0}


def app(query=None):
    at = AppTest.from_file(ENTRY, default_timeout=60)
    if query:
        at.query_params.update(query)
    return at.run()


def errors(at):
    return [element.value for element in at.error]


def train_until_done(at):
    """Wait for the service to finish the session's run, and draw the page once more."""
    return wait_for_run(at)


def set_help_task(at):
    at.selectbox(key="preset").select("help").run()
    for key, value in HELP_SETTINGS.items():
        widget = at.selectbox(key=key) if key in ("cell", "optimizer") else at.slider(key=key) if key == "val_fraction" else at.number_input(key=key)
        widget.set_value(value)
    return at.run()


@pytest.mark.parametrize("page", ["pages/train.py", "pages/generate.py", "pages/look_inside.py", "pages/how_it_works.py"])
def test_every_page_renders_its_defaults(page):
    at = app()
    if page != "pages/train.py":
        at.switch_page(page).run()
    assert not at.exception
    assert at.title


def test_train_page_shows_the_text_and_its_characters():
    at = app()
    assert at.selectbox(key="preset").value == "rhyme"
    assert at.text_area(key="text").value.startswith("This is the house that Jack built.")
    assert any("1,971 characters, 28 distinct" in caption.value for caption in at.caption)
    assert at.selectbox(key="cell").value == "gru"


def test_help_training_completes_and_the_loss_falls():
    at = set_help_task(app())
    at.button(key="train_button").click().run()
    run = train_until_done(at)
    assert run.status == "done" and run.epoch == 300
    assert run.history[0].train_loss > 1.0 > 0.05 > run.history[-1].train_loss
    assert run.samples[-1][1] == "help!"[: len(run.samples[-1][1])] or run.samples[-1][1].startswith("help!")
    chart = chart_spec(at)
    assert len(chart["data"][0]["y"]) == 300
    assert at.button(key="resume_button") and not at.exception


def start_rhyme(at, epochs=400):
    at.number_input(key="epochs").set_value(epochs).run()
    at.button(key="train_button").click().run()
    assert not at.exception
    return current_run(at)


def test_stop_keeps_the_model_and_resume_continues_the_same_curve():
    at = app()
    run = start_rhyme(at)
    assert run.training and wait_until(at, lambda: run.epoch > 0)  # the service trains it while the page only watches
    at.button(key="stop_button").click().run()
    run = wait_for_run(at)
    assert run.status == "stopped" and 0 < run.epoch < 400
    stopped_at, weights = run.epoch, run.model.flat_params.copy()
    time.sleep(1.5)
    at.run()
    assert run.epoch == stopped_at and np.array_equal(weights, run.model.flat_params)  # nothing trains while stopped
    at.button(key="resume_button").click().run()
    assert current_run(at) is run and wait_until(at, lambda: run.epoch > stopped_at)
    get_service().stop(run)
    wait_for_run(at)
    assert [s.epoch for s in run.history] == list(range(1, run.epoch + 1))  # one curve, continued


def test_train_from_scratch_asks_before_discarding_a_model():
    at = app()
    run = start_rhyme(at, epochs=5)
    train_until_done(at)
    at.number_input(key="hidden_size").set_value(64).run()
    assert any("Hidden size" in info.value for info in at.info)
    at.button(key="train_button").click().run()
    assert current_run(at) is run and any("Start a new run (Hidden size changed)?" in w.value and "stays on the Compare page" in w.value for w in at.warning)
    at.button(key="cancel_button").click().run()
    assert current_run(at) is run and not at.warning
    at.button(key="train_button").click().run()
    at.button(key="confirm_button").click().run()
    assert current_run(at) is not run and current_run(at).model.hidden_size == 64
    assert run.run_id in [record.run_id for record in kept_runs(at)]  # the old run is on Compare


def generate_page_after_help():
    """A session that has learnt "help!", on the Generate page."""
    at = set_help_task(app())
    at.button(key="train_button").click().run()
    train_until_done(at)
    return at.switch_page("pages/generate.py").run()


def test_generate_after_training_streams_text_and_shows_probabilities():
    at = generate_page_after_help()
    at.text_input(key="prime").input("h").run()
    at.number_input(key="length").set_value(4).run()
    at.toggle(key="greedy").set_value(True).run()
    at.button(key="generate_button").click().run()
    assert at.session_state["generated"] == "help!"
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert bars["x"][0] == "e" and bars["y"][0] > 0.9


def test_generate_names_unknown_characters():
    at = generate_page_after_help()
    at.text_input(key="prime").input("hex").run()
    assert any("'x'" in message for message in errors(at))
    assert not at.exception


@pytest.mark.parametrize("page", ["pages/generate.py", "pages/look_inside.py"])
def test_pages_without_a_model_say_how_to_get_one(page):
    at = app()
    at.switch_page(page).run()
    assert any("no model yet" in info.value for info in at.info)


def test_link_parameters_restore_settings():
    at = app({"cell": "LSTM", "hidden_size": "64", "lr": "0.01", "preset": "The Zen of Python", "epochs": "7"})
    assert at.selectbox(key="cell").value == "lstm"
    assert at.number_input(key="hidden_size").value == 64
    assert at.number_input(key="lr").value == pytest.approx(0.01)
    assert at.number_input(key="epochs").value == 7
    assert at.text_area(key="text").value.startswith("The Zen of Python")
    assert not at.warning


def test_bad_link_parameters_open_defaults_and_are_named():
    at = app({"cell": "transformer", "hidden_size": "99999", "colour": "red", "lr": "abc", "layers": "2"})
    assert at.selectbox(key="cell").value == "gru" and at.number_input(key="hidden_size").value == 128
    warning = " ".join(w.value for w in at.warning)
    for key in ("cell", "hidden_size", "colour", "lr", "layers"):
        assert f"`{key}`" in warning
    assert not at.exception


def test_short_custom_text_travels_in_the_link():
    at = app({"preset": "Your own text", "text": "abcabc abc"})
    assert at.text_area(key="text").value == "abcabc abc"


def test_bad_model_upload_keeps_the_trained_model():
    at = app()
    run = start_rhyme(at, epochs=3)
    train_until_done(at)
    weights = run.model.flat_params.copy()
    at.file_uploader(key="upload_model_train").upload("model.npz", b"definitely not a model", "application/octet-stream").run()
    assert any("could not be loaded" in message and "unchanged" in message for message in errors(at))
    assert current_run(at) is run and np.array_equal(run.model.flat_params, weights)


def test_good_model_upload_is_used_for_generating():
    vocab = Vocab.from_text("help!")
    model = CharRNN(len(vocab), 8, "gru")
    at = app()
    at.switch_page("pages/generate.py").run()
    at.file_uploader(key="upload_model_generate").upload("m.npz", to_bytes(model, vocab), "application/octet-stream").run()
    assert at.session_state["loaded_model"].model.hidden_size == 8
    at.text_input(key="prime").input("he").run()
    at.button(key="generate_button").click().run()
    assert at.session_state["generated"].startswith("he") and len(at.session_state["generated"]) == 2 + 300


def test_text_upload_that_is_not_utf8_is_refused_and_the_text_kept():
    at = app()
    before = at.text_area(key="text").value
    at.file_uploader(key="text_upload").upload("latin.txt", "café".encode("latin-1"), "text/plain").run()
    assert any("not UTF-8" in message for message in errors(at))
    assert at.text_area(key="text").value == before


def test_text_upload_replaces_the_text():
    at = app()
    at.file_uploader(key="text_upload").upload("mine.txt", "to be or not to be\n".encode(), "text/plain").run()
    assert at.text_area(key="text").value == "to be or not to be\n"
    assert at.selectbox(key="preset").value == "custom"


@pytest.mark.parametrize("text,expected", [("", "empty"), ("   \n ", "empty"), ("aaaaaaaa", "single character")])
def test_untrainable_texts_get_a_clear_message(text, expected):
    at = app()
    at.text_area(key="text").input(text).run()
    at.button(key="train_button").click().run()
    assert any(expected in message for message in errors(at))
    assert current_run(at) is None


def test_divergence_is_reported_and_the_model_kept():
    at = app()
    at.selectbox(key="optimizer").select("sgd").run()
    at.number_input(key="lr").set_value(10.0).run()
    at.number_input(key="clip").set_value(0.0).run()
    at.button(key="train_button").click().run()
    run = train_until_done(at)
    assert run.status == "diverged"
    assert any("learning rate 10" in message for message in errors(at))
    assert np.all(np.isfinite(run.model.flat_params)) and at.button(key="resume_button")


def test_inspect_escapes_html_in_the_users_text():
    at = app()
    at.text_area(key="text").input("<script>alert('x')</script> <b>bold</b>").run()
    at.number_input(key="epochs").set_value(2).run()
    at.button(key="train_button").click().run()
    train_until_done(at)
    at.switch_page("pages/look_inside.py").run()
    at.text_area(key="inspect_text").input("<script>alert('x')</script>").run()
    shown = page_html(at)
    assert not any("<script" in body for body in shown)
    assert any("&lt;" in body and "&gt;" in body for body in shown)  # escaped character by character
    assert len(at.get("plotly_chart")) >= 2 and not at.exception


def test_how_it_works_runs_both_bptt_experiments():
    at = app()
    at.switch_page("pages/how_it_works.py").run()
    assert len(at.get("latex")) >= 3
    at.button(key="bptt_memory_button").click().run()
    curves = at.session_state["bptt_memory"]
    assert set(curves) == {"full BPTT", "horizon 1 (no BPTT)"}
    assert curves["full BPTT"][-1] < curves["horizon 1 (no BPTT)"][-1]


def test_download_offers_the_trained_model():
    at = app()
    start_rhyme(at, epochs=2)
    train_until_done(at)
    assert at.download_button(key="download_model_train").label.startswith("Download model")


def test_two_sessions_without_a_cookie_do_not_share_runs():
    first, second = app(), app()
    run = start_rhyme(first, epochs=2)
    assert owner_of(first) is not owner_of(second)
    second.run()
    assert current_run(second) is None and current_run(first) is run
    train_until_done(first)
    second.switch_page("pages/compare.py").run()
    assert kept_runs(second) == [] and any("Runs appear here" in info.value for info in second.info)


def test_big_screen_view_enlarges_the_type_and_puts_curve_and_sample_side_by_side():
    at = set_help_task(app())
    at.button(key="train_button").click().run()
    train_until_done(at)
    at.toggle(key="present").set_value(True).run()
    assert not at.exception
    assert [expander.label for expander in at.expander][0] == "Text and sharing"
    chart = at.get("plotly_chart")[0].proto
    assert '"height":430' in chart.spec and not at.title  # the room sees the curve, not the page's title
    sample_column = at.columns[-1]
    assert shown_samples(sample_column) and shown_samples(sample_column)[0][0].startswith("h")


def test_big_screen_view_opens_from_a_link_in_large_type():
    at = app({"present": "true"})
    assert not at.exception and at.toggle(key="present").value
    assert any("font-size: 22px" in element.proto.body for element in at.get("html"))  # the entry file's, on every page
    assert not any("font-size: 22px" in element.proto.body for element in app().get("html"))


def test_step_mode_opens_up_one_step_from_the_engine():
    at = set_help_task(app())
    at.toggle(key="step_mode").set_value(True).run()
    at.button(key="step_button").click().run()
    assert not at.exception
    run = current_run(at)
    assert run.epoch == 1 and run.status == "stopped"  # help! is one window: each step is an epoch
    table = at.dataframe[0].value
    assert list(table["input"]) == ["h", "e", "l", "p"] and list(table["target"]) == ["e", "l", "p", "!"]
    _, _, _, details, _ = at.session_state["step_details"]
    assert list(table["loss (nats, batch mean)"]) == [round(float(loss), 4) for loss in details["step_losses"]]
    charts = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert any("at each step of the window" in spec for spec in charts) and any("Update of Wx0" in spec for spec in charts)
    for _ in range(3):
        at.button(key="step_button").click().run()
    assert run.epoch == 4 and len(run.history) == 4
    assert at.button(key="resume_button")  # stepping and training carry on from each other


def test_step_mode_is_for_short_texts():
    at = app()
    at.selectbox(key="preset").select("pydocs").run()
    at.toggle(key="step_mode").set_value(True).run()
    assert any("Step mode is for short texts" in warning.value for warning in at.warning)
    assert not [button for button in at.button if button.key == "step_button"]


def test_a_generate_link_keeps_a_long_seed_text():
    prime = "help!" * 12  # longer than any number a link carries
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.query_params["prime"] = prime
    at.switch_page("pages/generate.py").run()  # the Generate page's own link
    other = set_help_task(app())
    other.button(key="train_button").click().run()
    get_service().replace_current(owner_of(at), train_until_done(other))  # a model, as if trained earlier by this browser
    at.run()
    assert at.text_input(key="prime").value == prime
    assert not at.warning


def test_runs_far_back_in_line_show_their_place_and_take_their_turn(monkeypatch):
    # Turns of 3 s: the queue stands still long enough for a page to redraw between two of its moves
    monkeypatch.setattr(service_module, "PIECE_SECONDS", 3.0)
    rooms = [app() for _ in range(5)]
    for at in rooms:
        at.number_input(key="epochs").set_value(5000).run()
        at.button(key="train_button").click().run()
    runs = [current_run(at) for at in rooms]
    service = get_service()
    try:
        queue = lambda: ([service.queue_place(run) for run in runs], [run.pieces for run in runs])  # noqa: E731
        shown = None
        deadline = time.monotonic() + 60
        while shown is None and time.monotonic() < deadline:
            before = queue()
            far_back = [index for index, place in enumerate(before[0]) if (place or 0) > 2]
            if not far_back:
                time.sleep(0.1)
                continue
            waiting = rooms[far_back[0]]
            waiting.run()
            if queue() == before:  # the queue did not move while the page redrew: what it shows is now
                shown = waiting, before[0][far_back[0]], runs[far_back[0]].pieces
        assert shown is not None, "no run waited behind two others while its page redrew"
        waiting, place, pieces = shown
        progress = " ".join(element.proto.text for element in waiting.get("progress"))
        assert f"Waiting for a free worker: {ordinal(place)} in line" in progress
        assert waiting.get("plotly_chart"), "a waiting run still shows its curve"
        # the waiting run gets its turn, and no run is starved while the others train
        waiting_run = runs[rooms.index(waiting)]
        assert wait_until(waiting, lambda: waiting_run.pieces > pieces and all(run.trainer.epoch_fraction > 0 for run in runs), timeout=60)
    finally:
        for run in runs:
            service.stop(run)
    for at in rooms:
        at.run()
        assert not at.exception
