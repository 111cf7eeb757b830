"""The charts' colours are colour-blind safe, and text on the app's own shades stays readable."""

import re
import tomllib
from types import SimpleNamespace

import numpy as np

from browser import ROOT
from playground.ui import common, step_view
from rnn_core import Vocab

THEME = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
TOL_MUTED = {"#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499"}


def rgb(colour):
    """(r, g, b) of "#rrggbb" or "rgba(r, g, b, a)" laid over the page's background."""
    if colour.startswith("#"):
        return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    *channels, alpha = (float(part) for part in re.findall(r"[\d.]+", colour))
    return tuple(alpha * channel + (1 - alpha) * page for channel, page in zip(channels, rgb(THEME["backgroundColor"])))


def contrast(first, second):
    """WCAG 2 contrast ratio of two colours."""
    def luminance(colour):
        linear = [c / 3294.6 if c <= 10.03 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb(colour)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def record(run_id, points=5):
    curve = {"train": [(epoch, 2.0 - 0.1 * epoch) for epoch in range(1, points + 1)], "val": [(epoch, 2.1 - 0.1 * epoch) for epoch in range(1, points + 1)]}
    return SimpleNamespace(run_id=run_id, name=f"run {run_id}", curve=curve, seconds_curve=curve)


def test_the_loss_chart_draws_train_and_validation_in_okabe_ito_and_the_baselines_in_grey():
    curve = {"train": [(0.5, 1.5, 0.1), (1.0, 1.2, 0.1)], "val": [(1.0, 1.3, 0.1)]}
    figure = common.loss_figure(curve, baselines=SimpleNamespace(uniform=2.3, unigram=2.0, bigram=1.4))
    colours = {trace.name: trace.line.color for trace in figure.data}
    assert colours == {"train": "#0072B2", "validation": "#D55E00"}
    assert all(trace.marker.color in (None, trace.line.color) for trace in figure.data)  # markers take the line's colour
    assert [shape.line.color for shape in figure.layout.shapes] == [common.NEUTRAL] * 3
    assert [annotation.font.color for annotation in figure.layout.annotations] == [common.NEUTRAL] * 3
    assert contrast(common.NEUTRAL, THEME["backgroundColor"]) >= 4.5  # the baselines' labels are text


def test_baselines_that_coincide_share_one_label_instead_of_two_drawn_over_each_other():
    curve = {"train": [(1.0, 1.0, 0.1)], "val": []}
    equal = common.loss_figure(curve, baselines=SimpleNamespace(uniform=2.3219, unigram=2.3219, bigram=1.73))  # "help!": each letter once
    assert [annotation.text for annotation in equal.layout.annotations] == ["uniform guess = letter counts 2.32", "pair counts 1.73"]
    assert len(equal.layout.shapes) == 3
    apart = common.loss_figure(curve, baselines=SimpleNamespace(uniform=3.32, unigram=2.5, bigram=1.73))
    assert [annotation.text for annotation in apart.layout.annotations] == ["uniform guess 3.32", "letter counts 2.50", "pair counts 1.73"]


def test_runs_take_okabe_ito_colours_first_then_tol_and_never_the_faint_yellow():
    for count in (1, 2, 7, 12):
        figure = common.runs_figure([record(run_id) for run_id in range(count)])
        by_run = {}
        for trace in figure.data:
            by_run.setdefault(trace.legendgroup, set()).add(trace.line.color)
        assert len(by_run) == count and all(len(colours) == 1 for colours in by_run.values())  # a run's validation curve: its colour, dotted
        colours = [next(iter(by_run[str(run_id)])) for run_id in range(count)]
        assert len(set(colours)) == count
        assert set(colours[:7]) <= OKABE_ITO and set(colours) <= OKABE_ITO | TOL_MUTED and "#F0E442" not in colours
    assert {trace.line.dash for trace in figure.data} == {"solid", "dot"}


def test_how_it_works_comparison_uses_the_run_colours():
    figure = common.comparison_figure({"full BPTT": [1.0, 0.5], "horizon 1 (no BPTT)": [1.0, 0.9]})
    assert [trace.line.color for trace in figure.data] == common.RUN_COLOURS[:2]


def test_text_on_the_strongest_shades_and_on_a_copied_stretch_keeps_4_5_to_1():
    for value in (1.0, -1.0, 5.0, -5.0):
        assert contrast(common.shade_colour(value), THEME["textColor"]) >= 4.5, value
    assert common.shade_colour(0.5) != common.shade_colour(-0.5)
    assert contrast(common.MARK_BACKGROUND, THEME["textColor"]) >= 4.5
    assert common.MARK_BACKGROUND in common.MARK_STYLE and "#D55E00" in common.MARK_STYLE  # an underline marks it without colour too


def test_step_mode_draws_probabilities_in_viridis_and_layers_in_run_colours():
    vocab = Vocab.from_text("help!")
    probs = np.full((3, len(vocab)), 1 / len(vocab))
    predictions = step_view.prediction_figure(np.array([0, 1, 2]), np.array([1, 2, 3]), probs, vocab)
    heatmap, targets = predictions.data
    assert heatmap.colorscale[0][1] == "#440154" and heatmap.colorscale[-1][1] == "#fde725"  # viridis, dark to light
    assert targets.marker.color in OKABE_ITO
    gradients = step_view.gradient_figure(np.ones((2, 4)))
    assert [trace.line.color for trace in gradients.data] == common.RUN_COLOURS[:2]
