"""A catalogue of bad inputs through the app: each gets a clear message and loses nothing.

Each case starts from a session with a trained model; afterwards the model, its curve and the
settings are still there. (The command line's catalogue is in test_cli.py.)
"""

import io
import json
import pickle
import re
import zipfile

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_runs import current_run, kept_runs, owner_of, page_html, wait_for_run, wait_until
from conftest import ROOT
from playground.service import get_service
from rnn_core import CharRNN, Vocab, to_bytes

TEXT = "the cat sat on the mat. " * 20


def trained_on(text, epochs):
    """A fresh session that has trained a model on `text` to the end."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.text_area(key="text").input(text).run()
    at.number_input(key="epochs").set_value(epochs).run()
    at.button(key="train_button").click().run()
    wait_for_run(at)
    assert current_run(at).status == "done" and not at.exception
    return at


@pytest.fixture
def trained():
    at = trained_on(TEXT, 3)
    run = current_run(at)
    return at, run, run.model.flat_params.copy()


def messages(at):
    return " ".join(element.value for kind in (at.error, at.warning, at.info) for element in kind)


def still_there(at, run, weights):
    assert not at.exception
    assert current_run(at) is run and run.epoch == 3 and len(run.history) == 3
    assert np.array_equal(run.model.flat_params, weights)


def truncated_model():
    data = to_bytes(CharRNN(5, 4), Vocab.from_text("abcde"))
    return data[: len(data) // 2]


def model_with_object_array():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        array = io.BytesIO()
        np.lib.format.write_array(array, np.array([{"code": "os.system"}], dtype=object), allow_pickle=True)
        archive.writestr("format.npy", array.getvalue())
    return buffer.getvalue()


def type_text_and_train(text):
    def act(at):
        at.text_area(key="text").input(text).run()
        at.button(key="train_button").click().run()
        if at.button(key="confirm_button"):  # asked before discarding the trained model
            at.button(key="confirm_button").click().run()

    return act


def upload_text(name, data):
    return lambda at: at.file_uploader(key="text_upload").upload(name, data, "text/plain").run()


def upload_model(name, data):
    return lambda at: at.file_uploader(key="upload_model_train").upload(name, data, "application/octet-stream").run()


def generate_with(prime):
    def act(at):
        at.switch_page("pages/generate.py").run()
        at.text_input(key="prime").input(prime).run()

    return act


def settings_and_train(preset=None, **values):
    def act(at):
        if preset:
            at.selectbox(key="preset").select(preset).run()
        for key, value in values.items():
            (at.selectbox(key=key).select(value) if key in ("cell", "optimizer") else at.number_input(key=key).set_value(value)).run()
        at.button(key="train_button").click().run()
        if at.button(key="confirm_button"):
            at.button(key="confirm_button").click().run()
        wait_for_run(at)

    return act


CASES = {
    "empty text": (type_text_and_train(""), "empty"),
    "whitespace only": (type_text_and_train("   \n\t  "), "empty"),
    "one distinct character": (type_text_and_train("zzzzzzzzzzzz"), "single character"),
    "binary upload": (upload_text("data.txt", b"\x00\x01\x02binary\x00"), "binary"),
    "non-UTF-8 upload": (upload_text("latin1.txt", "naïve café".encode("latin-1")), "not UTF-8"),
    "corrupt model file": (upload_model("model.npz", b"PK\x03\x04 not really a zip"), "could not be loaded"),
    "pickled model file": (upload_model("model.npz", pickle.dumps({"weights": [1, 2]})), "could not be loaded"),
    "model file holding Python objects": (upload_model("model.npz", model_with_object_array()), "could not be loaded"),
    "truncated model file": (upload_model("model.npz", truncated_model()), "could not be loaded"),
    "text file as a model": (upload_model("model.npz", TEXT.encode()), "could not be loaded"),
    "seed with unknown characters": (generate_with("the dog ☃"), "does not know"),
    "seed of HTML": (generate_with("<script>alert(1)</script>"), "does not know"),
    "learning rate that diverges": (settings_and_train(optimizer="adam", lr=10.0, clip=0.0), "diverged"),
    "a step too slow for the server": (settings_and_train(cell="lstm", hidden_size=512, num_layers=3, batch_size=128, seq_len=256), "one training step would take"),
    "too much training for the server": (settings_and_train(preset="pydocs", epochs=5000), "characters of training"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_a_clear_message_and_nothing_is_lost(case, trained):
    at, run, weights = trained
    act, expected = CASES[case]
    act(at)
    assert expected in messages(at), messages(at)
    assert "thrown away" not in messages(at)  # the question about discarding the model was answered
    if case == "learning rate that diverges":  # a new run was asked for: it diverged, and kept its last good weights
        assert current_run(at).status == "diverged" and np.all(np.isfinite(current_run(at).model.flat_params))
    else:
        still_there(at, run, weights)


URL_CASES = {
    "unknown key": {"colour": "red"},
    "hidden size out of range": {"hidden_size": "100000"},
    "hidden size zero": {"hidden_size": "0"},
    "non-numeric value": {"seq_len": "ten"},
    "learning rate zero": {"lr": "0"},
    "learning rate 1e9": {"lr": "1e9"},
    "learning rate NaN": {"lr": "nan"},
    "unknown cell": {"cell": "Transformer"},
    "huge value": {"epochs": "9" * 400},
    "negative validation fraction": {"val_fraction": "-0.5"},
    # numbers past any float crashed Streamlit's whole-number fields on every rerun (OverflowError)
    "epochs 1e400": {"epochs": "1e400"},
    "seed inf": {"seed": "inf"},
    "hidden size -inf": {"hidden_size": "-inf"},
    "batch size Infinity": {"batch_size": "Infinity"},
    "layers NaN": {"num_layers": "nan"},
    "clip 1e999": {"clip": "1e999"},
    "validation fraction inf": {"val_fraction": "inf"},
}


@pytest.mark.parametrize("case", URL_CASES)
def test_crafted_link_parameters_open_defaults_and_are_named(case):
    query = URL_CASES[case]
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.query_params.update(query)
    at.run()
    assert not at.exception
    for key in query:
        assert f"`{key}`" in messages(at)
    at.number_input(key="hidden_size").set_value(32).run()  # a later click runs every widget again
    at.run()
    assert not at.exception and at.number_input(key="hidden_size").value == 32


@pytest.mark.parametrize(
    "text",
    ["héllo wörld 👋🏽 " * 10, "שלום עולם مرحبا " * 10, "e\u0301a\u0308o\u0302 " * 20, "tab\there\x07bell\x1bescape " * 10],
    ids=["emoji", "right-to-left", "combining marks", "control characters"],
)
def test_unusual_but_valid_texts_train(text):
    assert current_run(trained_on(text, 2)).epoch == 2


def other_vocabulary_model():
    vocab = Vocab.from_text("0123456789")
    return to_bytes(CharRNN(len(vocab), 8, "gru"), vocab)


def upload_other_vocabulary_then_generate(at):
    at.file_uploader(key="upload_model_train").upload("digits.npz", other_vocabulary_model(), "application/octet-stream").run()
    generate_with("the cat")(at)


def test_a_model_from_another_vocabulary_loads_and_names_the_characters_it_lacks(trained):
    at, run, weights = trained
    upload_other_vocabulary_then_generate(at)
    assert "does not know" in messages(at) and "'a'" in messages(at)
    assert at.session_state["loaded_model"].vocab.chars == list("0123456789")
    assert np.array_equal(run.model.flat_params, weights)  # the trained model itself was not touched


def test_a_20_megabyte_paste_is_refused_with_the_limit_named(trained):
    at, run, weights = trained
    type_text_and_train("word " * 4_000_000)(at)
    assert "takes up to 1,000,000" in messages(at)
    still_there(at, run, weights)


def test_a_model_file_over_the_upload_limit_is_refused(trained, monkeypatch):
    at, run, weights = trained
    monkeypatch.setenv("CHAR_RNN_MAX_UPLOAD_MB", "1")
    upload_model("big.npz", b"\0" * (2 << 20))(at)
    assert "larger than 1 MB" in messages(at)
    still_there(at, run, weights)


def test_crafted_generate_parameters_do_not_break_the_page():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.query_params.update({"length": "10000000", "temperature": "0", "top_p": "0", "top_k": "-1", "greedy": "maybe"})
    at.run()
    at.switch_page("pages/generate.py").run()
    assert not at.exception and "no model yet" in messages(at)


def test_html_and_script_in_the_text_are_shown_as_text_on_every_page():
    markup = "<script>alert('x')</script><b>bold</b><img src=x onerror=alert(1)> "
    at = trained_on(markup * 5, 2)
    pages = ["pages/train.py", "pages/generate.py", "pages/look_inside.py", "pages/how_it_works.py"]
    for page in pages:
        at.switch_page(page).run()
        if page == "pages/generate.py":
            at.text_input(key="prime").input("<b>").run()
            at.button(key="generate_button").click().run()
        assert not at.exception
        for element in at.markdown:
            assert "<script" not in element.value and "<img" not in element.value, (page, element.value)
        for body in page_html(at):
            assert "<script" not in body and "<img" not in body, page


# What a demanding first hour found: one class of defect each, every page it reached.

def help_run():
    """A finished run of the help! preset, as another session of the same test would have."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.selectbox(key="preset").select("help").run()
    at.button(key="train_button").click().run()
    wait_for_run(at)
    return current_run(at)


@pytest.mark.parametrize("query", [{"length": "1e400"}, {"top_k": "inf"}, {"sample_seed": "-Infinity"}, {"temperature": "inf"}, {"top_p": "nan"}], ids=str)
def test_an_infinite_number_in_a_generate_link_is_named_and_generating_works(query):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.query_params.update(query)
    at.switch_page("pages/generate.py").run()
    get_service().replace_current(owner_of(at), help_run())  # a model, as if trained earlier by this browser
    at.run()
    assert not at.exception
    assert f"`{next(iter(query))}`" in messages(at)
    at.text_input(key="prime").input("h").run()
    at.button(key="generate_button").click().run()
    assert not at.exception and at.session_state["generated"].startswith("h")


@pytest.mark.parametrize("text", ["GATTACA ACGT " * 30, "👋a" * 80], ids=["DNA", "an emoji and a letter"])
def test_inspect_copes_with_fewer_characters_than_it_shows_guesses(text):
    at = trained_on(text, 2)
    at.switch_page("pages/look_inside.py").run()
    assert not at.exception
    vocab_size = len(set(text))
    table = at.dataframe[0].value
    assert [column for column in table.columns if column.startswith("#")] == [f"#{k + 1}" for k in range(vocab_size)]
    assert any(f"Top-{vocab_size} predictions" in header.value for header in at.header)


TRACKING_NAME = "![t](http://t.example/t.png) [a](http://x.io) www.x.io <img src=x> $x$ :red[r]"  # 80 at most


def rendered_sources(at):
    """(every Markdown source, every plotly spec) the page sent, to look for what a user's string could turn into."""
    markdown = [element.value for kind in (at.markdown, at.caption, at.error, at.warning, at.info, at.success, at.toast) for element in kind]
    return markdown, [chart.proto.spec for chart in at.get("plotly_chart")]


def test_a_run_name_is_shown_as_plain_text_everywhere():
    from playground.plain_text import escape_markdown, escape_plotly

    at = trained_on(TEXT, 2)
    at.switch_page("pages/compare.py").run()
    record = kept_runs(at)[0]
    at.text_input(key=f"rename_{record.run_id}").set_value(TRACKING_NAME).run()
    at.button(key="rename_button").click().run()
    assert record.name == TRACKING_NAME and not at.exception
    assert at.multiselect(key="compare_selected").value == [record.run_id]  # renaming keeps it chosen
    markdown, charts = rendered_sources(at)
    assert any(escape_markdown(TRACKING_NAME) in source for source in markdown)  # the sample's heading
    assert any(json.loads(spec)["data"][0]["name"] == escape_plotly(TRACKING_NAME) for spec in charts)  # the legend
    assert_shown_literally(markdown, charts)


def assert_shown_literally(markdown, charts):
    """No link, image, tag, math or colour directive from TRACKING_NAME: only its escaped form."""
    for source in markdown:
        assert "![t](" not in source and "](http" not in source and ":red[" not in source and not re.search(r"(?<!\\)[<$]", source), source
    for spec in charts:
        assert "<img" not in spec and "href" not in spec, spec


def test_an_imported_file_name_and_run_names_are_shown_as_plain_text():
    from playground import runs

    at = trained_on(TEXT, 2)
    records = list(kept_runs(at))
    records[0].name = TRACKING_NAME
    data = runs.export_bytes(records)
    records[0].name = "mine"
    at.switch_page("pages/compare.py").run()
    at.file_uploader(key="runs_upload").upload("![f](http://tracker.example/f.png).zip", b"not a zip", "application/zip").run()
    assert "could not" in messages(at) or "cannot be read" in messages(at)
    at.file_uploader(key="runs_upload").upload("runs.zip", data, "application/zip").run()
    assert not at.exception and TRACKING_NAME in [record.name for record in kept_runs(at)]
    markdown, charts = rendered_sources(at)
    assert "![f](" not in " ".join(markdown)
    assert_shown_literally(markdown, charts)


def test_a_model_upload_during_training_keeps_the_run_on_compare():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.number_input(key="epochs").set_value(2000).run()
    at.button(key="train_button").click().run()
    run = current_run(at)
    assert run.training and wait_until(at, lambda: run.epoch > 0)
    at.file_uploader(key="upload_model_train").upload("other.npz", to_bytes(CharRNN(5, 8, "gru"), Vocab.from_text("abcde")), "application/octet-stream").run()
    assert not at.exception and current_run(at) is None and at.session_state["loaded_model"].model.hidden_size == 8
    assert not run.training
    kept = [record for record in kept_runs(at) if record.run_id == run.run_id]
    assert kept and kept[0].summary["epochs"] == run.epoch
    assert any("kept on the Compare page" in toast.value for toast in at.toast)


def test_reset_keeps_the_run_on_compare(trained):
    at, run, _ = trained
    at.button(key="reset_button").click().run()
    assert current_run(at) is None
    assert [record.run_id for record in kept_runs(at)] == [run.run_id]


def test_divergence_restores_parameters_that_are_good_and_says_sgd():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.selectbox(key="optimizer").select("sgd").run()
    at.number_input(key="lr").set_value(10.0).run()
    at.number_input(key="clip").set_value(0.0).run()
    at.button(key="train_button").click().run()
    wait_for_run(at)
    run = current_run(at)
    assert run.status == "diverged"
    message = " ".join(element.value for element in at.error)
    assert message.startswith("Training diverged") and "SGD" in message and "learning rate 10" in message
    restored = run.trainer.validation_loss()
    assert restored < np.log(len(run.vocab))  # better than a uniform guess: good parameters
    at.number_input(key="lr").set_value(0.01).run()
    at.number_input(key="clip").set_value(5.0).run()
    at.number_input(key="epochs").set_value(run.epoch + 3).run()
    at.button(key="resume_button").click().run()
    wait_for_run(at)
    assert run.status == "done" and run.trainer.validation_loss() < restored


@pytest.mark.parametrize("how", ["picked", "from a link"])
def test_the_help_preset_brings_its_settings_says_so_and_trains(how):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    if how == "picked":
        at.run().selectbox(key="preset").select("help").run()
    else:
        at.query_params["preset"] = "help!"
        at.run()
    assert (at.selectbox(key="cell").value, at.number_input(key="seq_len").value, at.number_input(key="batch_size").value) == ("rnn", 4, 1)
    assert at.slider(key="val_fraction").value == 0.0 and at.selectbox(key="optimizer").value == "adagrad"
    assert any("It sets cell RNN" in caption.value for caption in at.caption)
    at.button(key="train_button").click().run()
    run = wait_for_run(at)
    assert run.status == "done" and run.epoch == 300 and not at.error
    at.selectbox(key="preset").select("rhyme").run()  # back to a preset without settings of its own: the defaults
    assert (at.selectbox(key="cell").value, at.number_input(key="seq_len").value, at.number_input(key="epochs").value) == ("gru", 48, 200)


def test_an_engine_error_reads_as_a_sentence():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.text_area(key="text").input("abcabcabcabcabcabcab").run()  # 20 characters: too few for 16 streams
    at.button(key="train_button").click().run()
    error = " ".join(element.value for element in at.error)
    assert error.startswith("The training text has 18 characters, too few for 16 parallel streams") and error.endswith(".")


def test_resume_answers_the_question_about_a_new_run(trained):
    at, run, _ = trained
    at.number_input(key="hidden_size").set_value(64).run()
    at.button(key="train_button").click().run()
    assert any("Start a new run" in warning.value for warning in at.warning)
    at.number_input(key="epochs").set_value(5).run()
    at.button(key="resume_button").click().run()
    wait_for_run(at)
    assert run.epoch == 5 and not any("Start a new run" in warning.value for warning in at.warning)


def test_step_mode_counts_steps_and_drops_its_details_once_the_run_moves_on():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.toggle(key="step_mode").set_value(True).run()
    for _ in range(2):
        at.button(key="step_button").click().run()
    assert at.dataframe and not at.exception
    at.number_input(key="hidden_size").set_value(64).run()
    at.button(key="train_button").click().run()
    question = " ".join(warning.value for warning in at.warning)
    assert "trained for 2 steps" in question and "0 epochs" not in question
    at.button(key="cancel_button").click().run()
    at.number_input(key="epochs").set_value(1).run()
    at.button(key="resume_button").click().run()
    wait_for_run(at)
    assert current_run(at).epoch == 1
    assert not at.dataframe  # the two steps' details no longer describe this model


def test_invisible_characters_and_backticks_get_visible_names():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.text_area(key="text").input("a`b\u200dc\u200b e\u0301 tab\there " * 10).run()
    listing = next(caption.value for caption in at.caption if "distinct" in caption.value)
    for name in ("\\`", "U+200D ZWJ", "U+200B ZWSP", "◌\u0301", "⇥", "␣"):
        assert name in listing, listing
    at.number_input(key="epochs").set_value(2).run()
    at.button(key="train_button").click().run()
    wait_for_run(at)
    at.switch_page("pages/generate.py").run()
    at.text_input(key="prime").input("b").run()
    labels = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["x"]
    assert "" not in labels and not any(label.isspace() for label in labels) and "U+200D ZWJ" in labels


def test_a_crlf_upload_is_made_plain_once_and_says_so():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    windows = "first line\r\nsecond line\r\nold mac\rend\r\n" * 50
    at.file_uploader(key="text_upload").upload("windows.txt", windows.encode(), "text/plain").run()
    text = at.text_area(key="text").value
    assert "\r" not in text and text == windows.replace("\r\n", "\n").replace("\r", "\n")
    assert "line endings" in messages(at) and f"{len(text):,} in all" in messages(at)


def test_a_link_that_spells_out_the_defaults_is_not_called_ignored():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.query_params.update({"cell": "GRU", "hidden_size": "128", "preset": "The house that Jack built"})
    at.run()
    assert not at.warning and at.selectbox(key="cell").value == "gru"


def test_a_link_with_a_text_and_no_preset_opens_that_text():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.query_params["text"] = "hello hello"
    at.run()
    assert at.selectbox(key="preset").value == "custom" and at.text_area(key="text").value == "hello hello"
    assert not at.exception


def test_a_text_too_long_to_travel_is_left_out_of_the_link_and_the_share_box_says_so():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.text_area(key="text").input("日本語のテキスト " * 300).run()  # 2,700 characters, 20,000 once encoded
    link = next(code.value for code in at.code if "?preset=" in code.value)
    assert "text=" not in link and len(link) < 8000
    assert any("too long to travel in a link" in caption.value for caption in at.caption)


def test_inspect_wraps_long_lines_and_keeps_spaces_visible(trained):
    at, _, _ = trained
    at.switch_page("pages/look_inside.py").run()
    at.text_area(key="inspect_text").input("the cat sat on the mat. " * 6).run()
    view = page_html(at)[-1]
    assert "pre-wrap" in view and "&nbsp;" not in view
