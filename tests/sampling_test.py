"""Prime windows and the jitted generation loop."""

import jax
import numpy as np
from flax import nnx

from midi_rnn_jax import sampling, training


def test_primes_are_windows_of_the_tracks():
  tracks = [np.arange(1, 11, dtype=np.uint8), np.arange(50, 54, dtype=np.uint8)]
  primes = sampling.choose_primes(tracks, count=200, window_size=4, rng=np.random.default_rng(0))
  assert primes.shape == (200, 4)
  as_tuples = {tuple(p) for p in primes}
  all_windows = {tuple(t[i:i + 4]) for t in tracks for i in range(len(t) - 3)}
  assert as_tuples == all_windows  # Every window is reachable, the last ones included.


def make_sampler(num_steps, temperature):
  model = training.build_model(rnn_size=16, num_layers=2, dropout=0.3, seed=0)
  graphdef, params = nnx.split(model, nnx.Param)
  return model, params, sampling.make_sampler(graphdef, num_steps, temperature)


def test_same_key_same_melodies_and_tokens_in_range():
  _, params, sample = make_sampler(num_steps=50, temperature=1.0)
  primes = np.random.default_rng(0).integers(0, 129, (4, 6)).astype(np.uint8)
  first = np.asarray(sample(params, primes, jax.random.key(3)))
  assert first.shape == (4, 50) and first.min() >= 0 and first.max() <= 128
  np.testing.assert_array_equal(first, sample(params, primes, jax.random.key(3)))
  assert not np.array_equal(first, sample(params, primes, jax.random.key(4)))


def test_temperature_zero_is_greedy_with_a_sliding_window():
  model, params, sample = make_sampler(num_steps=5, temperature=0.0)
  window = np.random.default_rng(1).integers(0, 129, (3, 6))
  generated = np.asarray(sample(params, window.astype(np.uint8), jax.random.key(0)))
  for step in range(5):
    expected = np.argmax(model(window), axis=-1)
    np.testing.assert_array_equal(generated[:, step], expected)
    window = np.concatenate([window[:, 1:], expected[:, None]], axis=1)
