import math

import numpy as np
import pytest

from rnn_core import CharRNN, Vocab, sample, sample_with_probs
from rnn_core.sample import explain_choice, sample_explained

VOCAB = Vocab.from_text("abcdefgh ")

# sample() before it was built on explain_choice, recorded for these models and arguments
RECORDED = {
    "lstm": [
        (("ab", 40), {"seed": 7}, "egfbbf ggecabdeehfehc e  ddgfdd  afbc g "),
        (("ab", 40), {"temperature": 0.7, "top_k": 3, "seed": 0}, "fd  ggffcgg f g gf    gffcggfffd d  dffc"),
        (("ha", 40), {"temperature": 1.5, "top_p": 0.9, "seed": 3}, " bfd cc f cccdfgcefc gbcgfef fd ehafcefa"),
        (("", 30), {"seed": 1}, "dg gacfcc fdbfcc c afcchhfec h"),
        (("abc", 20), {"greedy": True}, "efc     gf   g   gf "),
        (("g", 40), {"temperature": 0.5, "top_k": 2, "top_p": 0.9, "seed": 11}, "eee  e  gf  g  gffc g    g gf    g  g g "),
    ],
    "gru": [
        (("ab", 40), {"seed": 7}, "aea  d  c     acha d  a    db     c a a "),
        (("ab", 40), {"temperature": 0.7, "top_k": 3, "seed": 0}, "    ad   da     d     aaaadd     aa  ad "),
        (("ha", 40), {"temperature": 1.5, "top_p": 0.9, "seed": 3}, "  ca  a a  aaade  c  h  dc d aa  d   cd "),
        (("", 30), {"seed": 1}, "dh fa a   aa        b  ffa   d"),
        (("abc", 20), {"greedy": True}, "                aa  "),
        (("g", 40), {"temperature": 0.5, "top_k": 2, "top_p": 0.9, "seed": 11}, "c    a  a         a        ad    a    a "),
    ],
}


def sharp_model(cell):
    model = CharRNN(len(VOCAB), 12, cell, seed=1)
    for array in model.params.values():
        array *= 4  # sharper, more varied distributions than a fresh model's
    return model


def test_hand_computed_table():
    # logits / 0.5 = [0.4, 2, -2, 1.2]; exp(scaled - 2) = [e^-1.6, 1, e^-4, e^-0.8] = [0.201897, 1, 0.018316, 0.449329],
    # sum 1.669541 -> probs [0.120929, 0.598967, 0.010970, 0.269134], most likely first: 1, 3, 0, 2
    # top-k 2 keeps ids 1 and 3; top-p 0.9: cumulative 0.598967, 0.868101, 0.989030 reaches 0.9 at the third, so cuts id 2 only
    # kept: 1 / (1 + e^-0.8) = 0.689974 for id 1 and 0.310026 for id 3; cumulative in id order 0, 0.689974, 0.689974, 1
    table = explain_choice([0.2, 1.0, -1.0, 0.6], temperature=0.5, top_k=2, top_p=0.9, u=0.5)
    np.testing.assert_allclose(table.logits, [0.2, 1.0, -1.0, 0.6])
    np.testing.assert_allclose(table.scaled, [0.4, 2.0, -2.0, 1.2])
    np.testing.assert_allclose(table.probs, [0.120929, 0.598967, 0.010970, 0.269134], atol=1e-6)
    assert list(table.order) == [1, 3, 0, 2]
    assert list(table.cut_by_top_k) == [True, False, True, False]
    assert list(table.cut_by_top_p) == [False, False, True, False]
    np.testing.assert_allclose(table.kept, [0, 1 / (1 + math.exp(-0.8)), 0, 1 / (1 + math.exp(0.8))], atol=1e-12)
    assert table.u == 0.5 and table.drawn == 1
    for u, drawn in [(0.0, 1), (0.689, 1), (0.6900, 3), (0.999, 3)]:
        assert explain_choice([0.2, 1.0, -1.0, 0.6], 0.5, 2, 0.9, u).drawn == drawn
    assert explain_choice([0.2, 1.0, -1.0, 0.6], 0.5, 2, 0.9, None).drawn == 1  # greedy


def test_the_draw_follows_the_kept_distribution():
    logits = np.array([0.3, -1.2, 2.0, 0.0, 1.1])
    us = (np.arange(20_000) + 0.5) / 20_000  # evenly spread uniform numbers
    for options in [{"temperature": 1.0}, {"temperature": 2.5, "top_p": 0.8}, {"temperature": 0.7, "top_k": 3}]:
        kept = explain_choice(logits, **options).kept
        counts = np.bincount([explain_choice(logits, u=u, **options).drawn for u in us[::10]], minlength=5)
        np.testing.assert_allclose(counts / counts.sum(), kept, atol=1e-3)
        assert np.all(counts[kept == 0] == 0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_sampling_gives_what_it_gave_before_and_sample_explained_the_same(cell):
    model = sharp_model(cell)
    for (prime, length), options, recorded in RECORDED[cell]:
        assert sample(model, VOCAB, prime, length, **options) == recorded
        assert sample_explained(model, VOCAB, prime, length, **options).text == recorded


def test_each_step_keeps_the_real_logits_and_its_uniform_number():
    model = sharp_model("lstm")
    result = sample_explained(model, VOCAB, "ab", 25, temperature=0.8, top_p=0.95, seed=5)
    assert result.logits.shape == (25, len(VOCAB)) and not result.random_start
    np.testing.assert_array_equal(result.uniforms, np.random.default_rng(5).random(25))  # one draw per character
    for position, char in enumerate(result.text):
        hidden = model.forward(VOCAB.encode("ab" + result.text[:position])[None, :]).hidden[-1, 0, -1]  # (H,)
        np.testing.assert_allclose(result.logits[position], hidden @ model.params["Why"] + model.params["by"], rtol=1e-5, atol=1e-5)
        assert result.explain(position, 0.8, None, 0.95).drawn == VOCAB.index[char]


def test_a_step_redrawn_at_another_temperature_is_deterministic():
    result = sample_explained(sharp_model("gru"), VOCAB, "ab", 30, temperature=1.0, seed=2)
    hot = [result.explain(position, temperature=5.0).drawn for position in range(30)]
    assert hot == [result.explain(position, temperature=5.0).drawn for position in range(30)]
    assert hot != [VOCAB.index[c] for c in result.text]  # a flatter distribution draws other characters
    cold = [result.explain(position, temperature=0.01).drawn for position in range(30)]
    assert cold == [int(np.argmax(row)) for row in result.logits]  # near zero: always the most likely


def test_sample_with_probs_gives_the_explained_kept_distributions():
    model = sharp_model("lstm")
    text, probs = sample_with_probs(model, VOCAB, "ab", 10, temperature=0.7, top_k=3, seed=0)
    result = sample_explained(model, VOCAB, "ab", 10, temperature=0.7, top_k=3, seed=0)
    assert result.text == text
    for position in range(10):
        np.testing.assert_allclose(result.explain(position, 0.7, 3).kept, probs[position], atol=1e-12)


def test_greedy_and_an_unprimed_start():
    model = sharp_model("lstm")
    greedy = sample_explained(model, VOCAB, "abc", 10, greedy=True)
    assert np.isnan(greedy.uniforms).all()
    assert [greedy.explain(i).drawn for i in range(10)] == [VOCAB.index[c] for c in greedy.text]
    unprimed = sample_explained(model, VOCAB, "", 12, seed=1)
    assert unprimed.random_start and unprimed.text == sample(model, VOCAB, "", 12, seed=1)
    np.testing.assert_array_equal(unprimed.logits[0], 0)
    with pytest.raises(ValueError, match="drawn uniformly"):
        unprimed.explain(0)
    assert unprimed.explain(1).drawn == VOCAB.index[unprimed.text[1]]
    empty = sample_explained(model, VOCAB, "a", 0)
    assert empty.text == "" and empty.logits.shape == (0, len(VOCAB)) and not empty.random_start


def test_impossible_characters_may_have_minus_infinite_logits():
    table = explain_choice([0.0, -np.inf, 1.0], temperature=2.0, u=0.99)
    assert table.probs[1] == 0 and table.kept[1] == 0 and table.drawn == 2


@pytest.mark.parametrize(
    "logits,options,match",
    [
        ([1.0, np.nan], {}, "logits"),
        ([1.0, np.inf], {}, "logits"),
        ([-np.inf, -np.inf], {}, "logits"),
        ([], {}, "logits"),
        ([[1.0, 2.0]], {}, "logits"),
        ([1.0, 2.0], {"u": 1.0}, "uniform"),
        ([1.0, 2.0], {"u": -0.1}, "uniform"),
        ([1.0, 2.0], {"temperature": 0}, "temperature"),
        ([1.0, 2.0], {"top_k": 0}, "top_k"),
        ([1.0, 2.0], {"top_p": 1.5}, "top_p"),
    ],
)
def test_explain_choice_bad_input_raises(logits, options, match):
    with pytest.raises(ValueError, match=match):
        explain_choice(logits, **options)


def test_explain_rejects_a_position_outside_the_text():
    result = sample_explained(sharp_model("gru"), VOCAB, "ab", 5, seed=0)
    for position in (-1, 5, 1.0):
        with pytest.raises(ValueError, match="position"):
            result.explain(position)
