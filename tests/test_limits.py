"""Caps for a shared server, and the environment variables that raise them."""

import pytest
from streamlit.testing.v1 import AppTest

from apptest_runs import current_run, wait_for_run
from conftest import ROOT
from playground.limits import Caps, check_caps, step_seconds
from playground.state import Settings


def test_environment_variables_set_caps_and_bad_values_keep_defaults():
    caps = Caps.from_environment({"CHAR_RNN_MAX_TEXT_CHARS": "5000", "CHAR_RNN_MAX_STEP_SECONDS": "abc", "CHAR_RNN_MAX_UPLOAD_MB": "-3"})
    assert caps.text_chars == 5000
    assert caps.step_seconds == Caps().step_seconds and caps.upload_mb == Caps().upload_mb


def test_step_time_grows_with_the_model():
    small, large = Settings(), Settings(cell="lstm", hidden_size=512, num_layers=3, batch_size=128, seq_len=256)
    assert step_seconds(small, 30) < 0.05 < 1.0 < step_seconds(large, 30)


@pytest.mark.parametrize(
    "text,settings,caps,match",
    [
        ("ab" * 600, Settings(), Caps(text_chars=1000), "takes up to 1,000"),
        ("ab" * 600, Settings(cell="lstm", hidden_size=512, num_layers=3, batch_size=128, seq_len=256), Caps(), "CHAR_RNN_MAX_STEP_SECONDS"),
        ("ab" * 600, Settings(epochs=5000), Caps(training_chars=1_000_000), "Lower the epochs"),
    ],
)
def test_each_cap_is_named_in_the_users_words(text, settings, caps, match):
    with pytest.raises(ValueError, match=match):
        check_caps(text, settings, caps)


def test_the_train_page_refuses_a_text_over_the_cap_and_keeps_the_model(monkeypatch):
    monkeypatch.setenv("CHAR_RNN_MAX_TEXT_CHARS", "1000")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.number_input(key="epochs").set_value(2).run()
    at.text_area(key="text").input("short text, fine. " * 10).run()
    at.button(key="train_button").click().run()
    run = wait_for_run(at)
    at.text_area(key="text").input("x y " * 1000).run()
    at.button(key="train_button").click().run()
    at.button(key="confirm_button").click().run()
    assert any("takes up to 1,000" in error.value for error in at.error)
    assert current_run(at) is run and run.epoch == 2
