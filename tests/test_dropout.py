import pickle

import numpy as np
import pytest

from rnn_core import CharRNN, Trainer, Vocab, clip_by_global_norm

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
VOCAB = Vocab.from_text(TEXT)


def window(vocab_size=5, batch_size=3, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab_size, (batch_size, steps)), rng.integers(0, vocab_size, (batch_size, steps))


def random_model(cell, num_layers, dropout, hidden_size=6, vocab_size=5, seed=0):
    """A float64 model with weights large enough that every unit matters."""
    model = CharRNN(vocab_size, hidden_size, cell=cell, num_layers=num_layers, seed=seed, dtype=np.float64, dropout=dropout)
    model.flat_params[:] = np.random.default_rng(seed + 1).normal(0, 0.5, model.num_params)
    return model


def thinned_loss_and_grads(model, inputs, targets, state, mask_seed):
    """The training pass with the masks a generator seeded with mask_seed draws: the same every call."""
    loss, grads, _ = model.loss_and_flat_grads(inputs, targets, state, rng=np.random.default_rng(mask_seed))
    return loss, grads.copy()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_the_gradient_with_dropout_matches_the_numerical_gradient_of_the_thinned_network(cell, num_layers):
    model = random_model(cell, num_layers, dropout=0.5)
    inputs, targets = window()
    rng = np.random.default_rng(2)
    state = tuple(tuple(rng.normal(0, 0.5, (3, 6)) for _ in layer) for layer in model.initial_state(3))
    loss, analytic = thinned_loss_and_grads(model, inputs, targets, state, mask_seed=7)
    flat, epsilon = model.flat_params, 1e-3
    numeric = np.empty_like(analytic)
    for index in range(flat.size):
        saved = flat[index]
        losses = []
        for shift in (2, 1, -1, -2):
            flat[index] = saved + shift * epsilon
            losses.append(thinned_loss_and_grads(model, inputs, targets, state, mask_seed=7)[0])
        flat[index] = saved
        numeric[index] = (8 * (losses[1] - losses[2]) - (losses[0] - losses[3])) / (12 * epsilon)
    errors = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-6)
    assert errors.max() < 1e-6
    # the masks did thin the network: the whole one has another loss and gradient
    whole = random_model(cell, num_layers, dropout=0.0)
    whole_loss, whole_grads, _ = whole.loss_and_flat_grads(inputs, targets, state)
    assert whole_loss != pytest.approx(loss) and not np.allclose(whole_grads, analytic)


def test_masks_drop_the_given_fraction_and_scale_the_rest_to_keep_the_mean():
    model = CharRNN(5, 100, "rnn", num_layers=2, dropout=0.3)
    masks = model._dropout_masks(np.random.default_rng(0), 50, 40)  # (L, T, B, H)
    assert masks.shape == (2, 40, 50, 100) and masks.dtype == np.float32
    values = set(np.unique(masks).tolist())
    assert values == {0.0, np.float32(1 / 0.7).item()}
    assert np.mean(masks == 0) == pytest.approx(0.3, abs=0.01)
    assert masks.mean() == pytest.approx(1.0, abs=0.02)


def test_a_single_character_window_drops_whole_read_out_rows():
    # batch 1, one step: a unit dropped at the top feeds no logit, so its row of dWhy is zero
    model = random_model("rnn", 1, dropout=0.5, hidden_size=40)
    inputs, targets = window(batch_size=1, steps=1)
    masks = model._dropout_masks(np.random.default_rng(3), 1, 1)[0, 0, 0].copy()  # (H,)
    _, grads = thinned_loss_and_grads(model, inputs, targets, None, mask_seed=3)
    zero_rows = np.all(model.split(grads)["Why"] == 0, axis=1)
    np.testing.assert_array_equal(zero_rows, masks == 0)
    assert 0 < zero_rows.sum() < 40


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_forward_and_loss_never_drop_units(cell):
    thinned, whole = random_model(cell, 2, dropout=0.5), random_model(cell, 2, dropout=0.0)
    inputs, targets = window()
    a, b = thinned.forward(inputs), whole.forward(inputs)
    np.testing.assert_array_equal(a.probs, b.probs)
    np.testing.assert_array_equal(a.hidden, b.hidden)
    assert thinned.loss(inputs, targets)[0] == whole.loss(inputs, targets)[0]
    # while the training pass does, differently for different draws
    assert thinned_loss_and_grads(thinned, inputs, targets, None, 1)[0] != thinned_loss_and_grads(thinned, inputs, targets, None, 2)[0]


def test_without_dropout_the_generator_is_not_used_and_nothing_changes():
    model = random_model("lstm", 2, dropout=0.0)
    inputs, targets = window()
    rng = np.random.default_rng(5)
    before = rng.bit_generator.state
    loss, grads, state = model.loss_and_flat_grads(inputs, targets, rng=rng)
    grads = grads.copy()
    assert rng.bit_generator.state == before
    plain_loss, plain_grads, plain_state = model.loss_and_flat_grads(inputs, targets)
    assert loss == plain_loss and loss == model.loss(inputs, targets)[0]
    np.testing.assert_array_equal(grads, plain_grads)
    for ours, theirs in zip(state, plain_state):
        for x, y in zip(ours, theirs):
            np.testing.assert_array_equal(x, y)


def make_trainer(dropout, seed=0, cell="lstm"):
    model = CharRNN(len(VOCAB), 16, cell, num_layers=2, seed=seed, dropout=dropout)
    return Trainer(model, VOCAB.encode(TEXT), seq_len=10, batch_size=4, optimizer="adam", lr=0.01, val_fraction=0.1)


def test_a_trainer_without_dropout_trains_as_the_model_does_alone():
    trainer = make_trainer(dropout=0.0)
    rng_before = trainer.dropout_rng.bit_generator.state
    trainer.train(2)
    by_hand = make_trainer(dropout=0.0)
    model, optimizer = by_hand.model, by_hand.optimizer
    for _ in range(2):
        state = None
        for inputs, targets in by_hand.train_windows:
            _, grads, state = model.loss_and_flat_grads(inputs, targets, state)
            clip_by_global_norm(grads, 5.0)
            optimizer.step(model.flat_params, grads)
    np.testing.assert_array_equal(model.flat_params, trainer.model.flat_params)
    assert trainer.dropout_rng.bit_generator.state == rng_before


def test_two_runs_with_the_same_seed_drop_the_same_units():
    # the app's presenter links rely on it: same seed, same result
    runs = []
    for _ in range(2):
        trainer = make_trainer(dropout=0.3, seed=2)
        trainer.train(2)
        runs.append(trainer)
    np.testing.assert_array_equal(runs[0].model.flat_params, runs[1].model.flat_params)
    assert [s.train_loss for s in runs[0].history] == [s.train_loss for s in runs[1].history]
    assert make_trainer(dropout=0.3, seed=3).dropout_rng.random() != make_trainer(dropout=0.3, seed=2).dropout_rng.random()
    without = make_trainer(dropout=0.0, seed=2)
    without.train(2)
    assert not np.array_equal(without.model.flat_params, runs[0].model.flat_params)


def test_validation_sees_the_whole_network():
    trainer = make_trainer(dropout=0.5)
    trainer.train(1)
    whole = CharRNN(len(VOCAB), 16, "lstm", num_layers=2, dropout=0.0)
    whole.flat_params[:] = trainer.model.flat_params
    state, total, count = None, 0.0, 0
    for inputs, targets in trainer.val_windows:
        loss, state = whole.loss(inputs, targets, state)
        total, count = total + loss * inputs.size, count + inputs.size
    assert trainer.validation_loss() == total / count
    assert trainer.history[0].val_loss == pytest.approx(total / count)


def test_a_pickled_trainer_with_dropout_carries_on_exactly():
    straight = make_trainer(dropout=0.4, cell="gru")
    straight.train(2)
    trainer = make_trainer(dropout=0.4, cell="gru")
    trainer.train(2, max_steps=7)
    trainer = pickle.loads(pickle.dumps(trainer))
    trainer.train(2)
    np.testing.assert_array_equal(trainer.model.flat_params, straight.model.flat_params)


def test_a_model_with_dropout_needs_a_generator_to_train():
    model = random_model("rnn", 1, dropout=0.2)
    inputs, targets = window()
    with pytest.raises(ValueError, match="rng"):
        model.loss_and_grads(inputs, targets)


@pytest.mark.parametrize("dropout", [-0.1, 1, 1.5, float("nan"), True, "0.2", None])
def test_bad_dropout_is_refused(dropout):
    with pytest.raises(ValueError, match="dropout"):
        CharRNN(5, 4, dropout=dropout)


def test_dropout_is_part_of_the_configuration():
    assert CharRNN(5, 4, dropout=0.25).config["dropout"] == 0.25
    assert CharRNN(5, 4).config["dropout"] == 0.0
