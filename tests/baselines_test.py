"""The reference models: Witten-Bell n-gram and repeat-previous, against hand computation."""

import numpy as np
import pytest

from midi_rnn_jax.evaluation import baselines
from midi_rnn_jax.errors import UserError

V = 129
TRACK = np.array([1, 2, 1, 2, 1, 3], np.uint8)


def test_witten_bell_matches_a_hand_computed_probability():
  model = baselines.WittenBell.fit([TRACK], order=2)
  # Unigrams: c(1)=3, c(2)=2, c(3)=1; N=6 tokens of T=3 types.
  unigram_2 = (2 + 3 / V) / (6 + 3)
  unigram_7 = (0 + 3 / V) / (6 + 3)
  # After 1: followed 3 times (by 2, 2, 3), T(1)=2 types; c(1,2)=2. Token 3 never led anything.
  expected = [(2 + 2 * unigram_2) / (3 + 2), (0 + 2 * unigram_7) / (3 + 2), unigram_2]
  contexts = np.array([[9, 1], [9, 1], [9, 3]], np.uint8)
  got = model.probabilities(contexts, np.array([2, 7, 2], np.uint8))
  np.testing.assert_allclose(got, expected, rtol=1e-12)
  # The NLL of a tiny corpus in nats, as evaluate reports it.
  assert -np.mean(np.log(got)) == pytest.approx(-np.mean(np.log(expected)))


def test_witten_bell_is_a_distribution():
  rng = np.random.default_rng(0)
  tracks = [rng.integers(0, 20, 300).astype(np.uint8) for _ in range(3)]
  model = baselines.WittenBell.fit(tracks, order=4)
  contexts = np.repeat(rng.integers(0, 25, (5, 6)).astype(np.uint8), V, axis=0)
  targets = np.tile(np.arange(V, dtype=np.uint8), 5)
  sums = model.probabilities(contexts, targets).reshape(5, V).sum(axis=1)
  np.testing.assert_allclose(sums, 1.0, rtol=1e-9)


def test_choose_order_finds_the_history_the_data_needs():
  # After "9 5" comes 7 or 3: only four tokens of history (order 5) tell which.
  pattern = np.array([5, 9, 5, 7, 5, 9, 5, 3], np.uint8)
  model, tried, chosen_on = baselines.choose_order([np.tile(pattern, 30)],
                                                   [np.tile(pattern, 5)], window_size=8)
  assert chosen_on == 'validation tracks'
  assert model.order >= 5 and tried[model.order] == min(tried.values())
  assert tried[5] < 0.5 * tried[4]
  # Tokens drawn independently: history only overfits, and the unigram wins.
  rng = np.random.default_rng(0)
  noise = [rng.integers(0, 40, 400).astype(np.uint8) for _ in range(2)]
  model, tried, _ = baselines.choose_order(noise[:1], noise[1:], window_size=8)
  assert model.order == 1 and set(tried) == {1, 2, 3}  # Stopped after two worse orders.


def test_the_chosen_model_is_fitted_on_the_training_tracks_alone():
  # The validation tracks only choose the order: their own patterns stay unseen.
  rng = np.random.default_rng(3)
  train = [np.tile(np.array([5, 9, 5, 7], np.uint8), 50)]
  validation = [rng.integers(20, 30, 200).astype(np.uint8)]
  model, _, _ = baselines.choose_order(train, validation, window_size=4)
  contexts, targets = baselines.windows_of(validation, 4)
  held_out = -np.mean(np.log(model.probabilities(contexts, targets)))
  refitted = baselines.WittenBell.fit(train + validation, model.order)
  seen = -np.mean(np.log(refitted.probabilities(contexts, targets)))
  assert held_out > seen + 1.0


def test_without_validation_windows_the_order_is_chosen_on_held_out_training_tracks():
  pattern = np.array([5, 9, 5, 7, 5, 9, 5, 3], np.uint8)
  model, tried, chosen_on = baselines.choose_order([np.tile(pattern, 30)] * 5, [],
                                                   window_size=8)
  assert chosen_on.startswith('every fifth training track')
  assert model.order >= 5 and all(np.isfinite(v) for v in tried.values())
  with pytest.raises(UserError, match='too few tracks'):
    baselines.choose_order([np.tile(pattern, 30)], [], window_size=8)


def test_repeat_previous_is_a_distribution_with_the_training_repeat_rate():
  tracks = [np.array([4, 4, 4, 6, 6, 0, 4], np.uint8)]
  model = baselines.RepeatPrevious.fit(tracks)
  assert model.repeat_probability == pytest.approx(3 / 6)
  contexts = np.repeat(np.array([[1, 4], [1, 0]], np.uint8), V, axis=0)
  targets = np.tile(np.arange(V, dtype=np.uint8), 2)
  probabilities = model.probabilities(contexts, targets).reshape(2, V)
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
  assert probabilities[0, 4] == pytest.approx(0.5) and probabilities[1, 0] == pytest.approx(0.5)


def test_predictions_are_the_most_likely_tokens():
  rng = np.random.default_rng(1)
  tracks = [rng.integers(0, 12, 200).astype(np.uint8)]
  contexts = rng.integers(0, 14, (30, 5)).astype(np.uint8)
  everything = np.tile(np.arange(V, dtype=np.uint8), len(contexts))
  for model in (baselines.WittenBell.fit(tracks, 3), baselines.RepeatPrevious.fit(tracks)):
    table = model.probabilities(np.repeat(contexts, V, axis=0), everything).reshape(-1, V)
    predicted = model.predict(contexts)
    np.testing.assert_allclose(table[np.arange(len(contexts)), predicted], table.max(axis=1))
