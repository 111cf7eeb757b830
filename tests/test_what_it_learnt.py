"""What the network has learnt, on the pages (AppTest): baselines, the softmax in numbers, what it
looks back at, maps, and copied stretches in samples. The numbers must be the engine's own."""

import json
import re

import numpy as np
import pytest

from apptest_runs import chart_spec, current_run, shown_samples
from rnn_core import Vocab, split_validation
from rnn_core.attribution import input_attribution
from rnn_core.baselines import ngram_baselines
from rnn_core.sample import sample_explained
from test_app import app, generate_page_after_help, train_until_done

RHYME_SETTINGS = {"epochs": 40, "hidden_size": 32}


def train_rhyme(at):
    for key, value in RHYME_SETTINGS.items():
        at.number_input(key=key).set_value(value).run()
    at.button(key="train_button").click().run()
    return train_until_done(at)


def test_the_loss_chart_shows_what_counting_alone_achieves_on_the_runs_validation_part():
    at = app()
    run = train_rhyme(at)
    vocab = Vocab.from_text(run.text)
    train_ids, val_ids = split_validation(vocab.encode(run.text), run.settings.val_fraction)
    expected = ngram_baselines(train_ids, val_ids, len(vocab))
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    lines = sorted(shape["y0"] for shape in spec["layout"]["shapes"])
    assert lines == pytest.approx(sorted([expected.uniform, expected.unigram, expected.bigram]))
    assert expected.uniform == pytest.approx(np.log2(len(vocab)))
    notes = " ".join(annotation["text"] for annotation in spec["layout"]["annotations"])
    assert "uniform guess" in notes and "letter counts" in notes and "pair counts" in notes
    assert any("a model that only counts letters" in caption.value for caption in at.caption)


def test_the_softmax_in_numbers_is_the_engines_and_a_new_temperature_redraws_the_same_step():
    at = generate_page_after_help()
    at.text_input(key="prime").input("h").run()
    at.number_input(key="length").set_value(8).run()
    at.slider(key="temperature").set_value(1.5).run()
    at.button(key="generate_button").click().run()
    run = current_run(at)
    explained = sample_explained(run.model, run.vocab, "h", 8, temperature=1.5, seed=0)
    assert at.session_state["generated"] == "h" + explained.text
    at.slider(key="step_position").set_value(3).run()
    rows = at.dataframe[0].value
    engine = explained.explain(2, 1.5)
    top = engine.order[0]
    assert rows.iloc[0]["logit"] == pytest.approx(engine.logits[top], rel=1e-5)
    assert rows.iloc[0]["softmax"] == pytest.approx(engine.probs[top], rel=1e-5)
    assert (rows["drawn"] == "◀").sum() == 1
    # colder: the same step, the same random number, sharper probabilities
    at.slider(key="temperature").set_value(0.3).run()
    colder = explained.explain(2, 0.3)
    rows = at.dataframe[0].value
    assert rows.iloc[0]["softmax"] == pytest.approx(colder.probs[colder.order[0]], rel=1e-5) and colder.probs.max() > engine.probs.max()
    assert at.session_state["generated"] == "h" + explained.text  # the text generated stays as it was
    assert not at.exception


def test_a_sample_marks_what_it_copied_from_the_training_text():
    at = generate_page_after_help()
    at.number_input(key="copy_length").set_value(4).run()
    at.text_input(key="prime").input("h").run()
    at.number_input(key="length").set_value(4).run()
    at.toggle(key="greedy").set_value(True).run()
    at.button(key="generate_button").click().run()
    assert shown_samples(at) == [("help!", ["elp!"])]  # the seed text "h" is the user's, not judged
    assert any("0% new" in caption.value for caption in at.caption)
    at.number_input(key="copy_length").set_value(5).run()  # "elp!" is shorter than 5: not a copy
    assert shown_samples(at) == [("help!", [])] and any("100% new" in caption.value for caption in at.caption)


def test_inspect_shades_what_a_prediction_looks_back_at_and_maps_what_it_learnt():
    at = app()
    run = train_rhyme(at)
    at.switch_page("pages/look_inside.py").run()
    text = at.text_area(key="inspect_text").value
    at.slider(key="attribution_position").set_value(30).run()
    shading = next(element.proto.body for element in at.get("html") if 'class="attribution"' in element.proto.body)
    found = input_attribution(run.model, run.vocab.encode(text), 30, lookback=500)
    shades = [float(value) for value in re.findall(r'<span title="([0-9.]+)"', shading)]
    assert len(shades) == 31 and shades == pytest.approx(list(found.norms / found.norms.max()), abs=0.006)
    at.toggle(key="attribution_log").set_value(True).run()
    shading = next(element.proto.body for element in at.get("html") if 'class="attribution"' in element.proto.body)
    log_shades = [float(value) for value in re.findall(r'<span title="([0-9.]+)"', shading)]
    relative = found.norms / found.norms.max()
    assert log_shades == pytest.approx(list(np.clip(1 + np.log10(np.maximum(relative, 1e-12)) / 4, 0, 1)), abs=0.006)
    assert sum(shade >= 0.05 for shade in log_shades) > sum(shade >= 0.05 for shade in shades)  # small influences show on the log scale
    charts = {element.proto.id: json.loads(element.proto.spec) for element in at.get("plotly_chart")}
    embedding = next(spec for key, spec in charts.items() if "embedding_map" in key)
    labelled = sorted(label for trace in embedding["data"] for label in trace["text"])
    assert len(labelled) == len(run.vocab)
    hidden = next(spec for key, spec in charts.items() if "hidden_map" in key)
    assert sum(len(trace["x"]) for trace in hidden["data"]) == min(len(run.text), 3000)
    assert not at.exception


def test_a_link_sets_a_learning_rate_schedule_and_dropout_and_each_point_shows_its_rate():
    link = {"lr_schedule": "Cosine decay", "lr_final": "0.05", "warmup": "5", "dropout": "0.2", "epochs": "30", "hidden_size": "32"}
    at = app(link)
    assert at.selectbox(key="lr_schedule").value == "cosine" and at.number_input(key="dropout").value == 0.2
    at.button(key="train_button").click().run()
    run = train_until_done(at)
    assert (run.trainer.lr_schedule, run.trainer.lr_final, run.trainer.warmup, run.model.dropout) == ("cosine", 0.05, 5, 0.2)
    spec = chart_spec(at)
    train = spec["data"][0]
    rates = train["customdata"]
    assert "learning rate" in train["hovertemplate"]
    assert rates[-1] == pytest.approx(run.settings.lr * 0.05, rel=1e-3)  # decayed to the final fraction
    assert max(rates) <= run.settings.lr * (1 + 1e-6) and rates[0] < max(rates)  # warmed up, then decayed
    # the same settings again give the same run, dropout included: the presenter-link guarantee
    again = app(link)
    again.button(key="train_button").click().run()
    twin = train_until_done(again)
    assert np.array_equal(twin.model.flat_params, run.model.flat_params)


def test_an_unknown_schedule_in_a_link_is_named_and_the_default_used():
    at = app({"lr_schedule": "exponential", "dropout": "2"})
    assert at.selectbox(key="lr_schedule").value == "constant" and at.number_input(key="dropout").value == 0.0
    warning = " ".join(element.value for element in at.warning)
    assert "lr_schedule" in warning and "dropout" in warning
