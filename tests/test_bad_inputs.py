"""A catalogue of bad inputs through the app: each gets a clear message and loses nothing.

Each case starts from a session with a trained model; afterwards the model, its curve and the
settings are still there. (The command line's catalogue is in test_cli.py.)
"""

import io
import pickle
import zipfile

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from rnn_core import CharRNN, Vocab, to_bytes

TEXT = "the cat sat on the mat. " * 20


def trained_on(text, epochs):
    """A fresh session that has trained a model on `text` to the end."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.text_area(key="text").input(text).run()
    at.number_input(key="epochs").set_value(epochs).run()
    at.button(key="train_button").click().run()
    for _ in range(10):
        if not at.session_state["run"].training:
            break
        at.run()
    assert at.session_state["run"].status == "done" and not at.exception
    return at


@pytest.fixture
def trained():
    at = trained_on(TEXT, 3)
    run = at.session_state["run"]
    return at, run, run.model.flat_params.copy()


def messages(at):
    return " ".join(element.value for kind in (at.error, at.warning, at.info) for element in kind)


def still_there(at, run, weights):
    assert not at.exception
    assert at.session_state["run"] is run and run.epoch == 3 and len(run.history) == 3
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
        for _ in range(5):
            at.run()

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
        assert at.session_state["run"].status == "diverged" and np.all(np.isfinite(at.session_state["run"].model.flat_params))
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


@pytest.mark.parametrize(
    "text",
    ["héllo wörld 👋🏽 " * 10, "שלום עולם مرحبا " * 10, "e\u0301a\u0308o\u0302 " * 20, "tab\there\x07bell\x1bescape " * 10],
    ids=["emoji", "right-to-left", "combining marks", "control characters"],
)
def test_unusual_but_valid_texts_train(text):
    assert trained_on(text, 2).session_state["run"].epoch == 2


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
    pages = ["pages/train.py", "pages/generate.py", "pages/inspect.py", "pages/how_it_works.py"]
    for page in pages:
        at.switch_page(page).run()
        if page == "pages/generate.py":
            at.text_input(key="prime").input("<b>").run()
            at.button(key="generate_button").click().run()
        assert not at.exception
        for element in at.markdown:
            assert "<script" not in element.value and "<img" not in element.value, (page, element.value)
        for element in at.get("html"):
            assert "<script" not in element.proto.body and "<img" not in element.proto.body, page
