"""Prime windows and the jitted generation loop."""

import jax
import numpy as np
import pytest
from flax import nnx

from midi_rnn_jax.data import encoding, model_inputs
from midi_rnn_jax.data.model_inputs import StepInputs
from midi_rnn_jax.evaluation import tunes
from midi_rnn_jax.generate import priming, samplers
from midi_rnn_jax.model import training
from midi_rnn_jax.errors import UserError


def test_primes_are_windows_of_the_tracks_with_their_bar_positions():
  tracks = [np.arange(1, 11, dtype=np.uint8), np.arange(50, 54, dtype=np.uint8)]
  meters = [encoding.Meter.on_downbeat(10, 3), encoding.Meter((np.arange(4) + 2).astype(np.uint8),
                                                              np.full(4, 6, np.uint8),
                                                              np.full(4, 8, np.uint8))]
  primes = priming.choose_primes(tracks, meters, count=200, window_size=4,
                                 rng=np.random.default_rng(0))
  assert len(primes) == 200 and all(p.tokens.shape == (4,) for p in primes)
  as_tuples = {tuple(p.tokens) for p in primes}
  all_windows = {tuple(t[i:i + 4]) for t in tracks for i in range(len(t) - 3)}
  assert as_tuples == all_windows  # Every window is reachable, the last ones included.
  for prime in primes:
    if prime.tokens[0] < 50:  # The first track: 3-step bars from its first step.
      assert prime.positions.tolist() == [(t - 1) % 3 for t in prime.tokens]
      assert prime.bar_length == 3 and prime.beat_unit == 4
    else:  # A 3/8 bar: the melody goes on in its meter.
      assert prime.positions.tolist() == [2, 3, 4, 5] and prime.bar_length == 6
      assert prime.beat_unit == 8


def test_stacked_primes_count_on_in_bars():
  primer = priming.Primer(np.array([61, 62], np.uint8), np.array([1, 2], np.uint8), 3)
  tokens, positions = priming.stack_primes([primer, primer], num_steps=5)
  assert tokens.tolist() == [[61, 62]] * 2
  assert positions.tolist() == [[1, 2, 0, 1, 2, 0, 1]] * 2


def make_sampler(num_steps, temperature):
  model = training.build_model(rnn_size=16, num_layers=2, dropout=0.3, seed=0)
  graphdef, params = nnx.split(model, nnx.Param)
  return model, params, samplers.make_sampler(graphdef, num_steps, temperature)


def test_same_key_same_melodies_and_tokens_in_range():
  _, params, sample = make_sampler(num_steps=50, temperature=1.0)
  primes = np.random.default_rng(0).integers(0, 129, (4, 6)).astype(np.uint8)
  first = np.asarray(sample(params, primes, jax.random.key(3)).tokens)
  assert first.shape == (4, 50) and first.min() >= 0 and first.max() <= 128
  np.testing.assert_array_equal(first, sample(params, primes, jax.random.key(3)).tokens)
  assert not np.array_equal(first, sample(params, primes, jax.random.key(4)).tokens)


def test_temperature_zero_is_greedy_with_a_sliding_window():
  model, params, sample = make_sampler(num_steps=5, temperature=0.0)
  window = np.random.default_rng(1).integers(0, 129, (3, 6))
  generated = np.asarray(sample(params, window.astype(np.uint8), jax.random.key(0)).tokens)
  for step in range(5):
    expected = np.argmax(model(StepInputs(window)), axis=-1)
    np.testing.assert_array_equal(generated[:, step], expected)
    window = np.concatenate([window[:, 1:], expected[:, None]], axis=1)


def test_the_scale_mask_never_lets_an_out_of_scale_pitch_through():
  allowed = samplers.scale_mask('D', 'major')
  d_major = {2, 4, 6, 7, 9, 11, 1}
  assert allowed[0] and all(allowed[p + 1] == (p % 12 in d_major) for p in range(128))
  model = training.build_model(rnn_size=16, num_layers=1, dropout=0.0, seed=3)
  graphdef, params = nnx.split(model, nnx.Param)
  # A high temperature spreads probability over every token, so a leak would show.
  sample = samplers.make_sampler(graphdef, 300, temperature=5.0, allowed=allowed)
  primes = np.random.default_rng(0).integers(0, 129, (8, 10)).astype(np.uint8)
  tokens = np.asarray(sample(params, primes, jax.random.key(0)).tokens)
  assert allowed[tokens].all()
  assert len(np.unique(tokens)) > 20  # It did sample widely.


def test_the_sampler_reports_the_probability_share_the_scale_kept():
  allowed = samplers.scale_mask('Bb', 'minor_pentatonic')
  model = training.build_model(rnn_size=16, num_layers=1, dropout=0.0, seed=3)
  graphdef, params = nnx.split(model, nnx.Param)
  primes = np.random.default_rng(0).integers(0, 129, (8, 10)).astype(np.uint8)
  one_step = samplers.make_sampler(graphdef, 1, temperature=1.0, allowed=allowed)
  expected = (jax.nn.softmax(model(StepInputs(primes))) * allowed).sum(-1)
  np.testing.assert_allclose(one_step(params, primes, jax.random.key(0)).scale_share[:, 0],
                             expected, rtol=1e-5)
  assert (np.asarray(expected) < 0.9).all()  # The mask did remove probability.
  unmasked = samplers.make_sampler(graphdef, 5, temperature=1.0)(params, primes,
                                                                 jax.random.key(0))
  np.testing.assert_array_equal(unmasked.scale_share, 1.0)


def test_top_k_one_is_greedy_decoding():
  _, params, greedy = make_sampler(num_steps=40, temperature=0.0)
  model = training.build_model(rnn_size=16, num_layers=2, dropout=0.3, seed=0)
  graphdef, _ = nnx.split(model, nnx.Param)
  top_1 = samplers.make_sampler(graphdef, 40, temperature=1.5, top_k=1)
  tiny_nucleus = samplers.make_sampler(graphdef, 40, temperature=1.0, top_p=1e-6)
  primes = np.random.default_rng(2).integers(0, 129, (5, 6)).astype(np.uint8)
  expected = np.asarray(greedy(params, primes, jax.random.key(0)).tokens)
  np.testing.assert_array_equal(top_1(params, primes, jax.random.key(7)).tokens, expected)
  np.testing.assert_array_equal(tiny_nucleus(params, primes, jax.random.key(8)).tokens, expected)
  zero_nucleus = samplers.make_sampler(graphdef, 40, temperature=1.0, top_p=0.0)
  np.testing.assert_array_equal(zero_nucleus(params, primes, jax.random.key(9)).tokens, expected)


def test_filter_logits_keeps_the_top_k_and_the_nucleus():
  logits = jax.numpy.log(jax.numpy.array([[0.5, 0.3, 0.15, 0.05]]))
  top_2 = np.asarray(samplers.filter_logits(logits, top_k=2, top_p=1.0))
  assert np.isfinite(top_2).tolist() == [[True, True, False, False]]
  nucleus = np.asarray(samplers.filter_logits(logits, top_k=0, top_p=0.8))
  assert np.isfinite(nucleus).tolist() == [[True, True, False, False]]  # 0.5 + 0.3 reaches 0.8.
  assert np.isfinite(samplers.filter_logits(logits, top_k=0, top_p=0.81)).sum() == 3


def test_primer_notes_parse_and_pad():
  tokens = priming.parse_primer('60, 62:2,_,67:3')
  assert tokens.tolist() == [61, 63, 63, 0, 68, 68, 68]
  primer = priming.primer_on_downbeat(tokens, bar_length=4)
  assert primer.positions.tolist() == [0, 1, 2, 3, 0, 1, 2]
  cut = priming.prime_window(primer, 4)
  assert cut.tokens.tolist() == [0, 68, 68, 68] and cut.positions.tolist() == [3, 0, 1, 2]
  padded = priming.prime_window(primer, 9)
  assert padded.tokens.tolist() == [0, 0, 61, 63, 63, 0, 68, 68, 68]
  assert padded.positions.tolist() == [2, 3, 0, 1, 2, 3, 0, 1, 2]
  for bad in ('60,x', '128', '60:0', '', '-1', 'H4', 'C#', 'G#9', 'C-2', '60:-3'):
    with pytest.raises(UserError, match='--primer_notes'):
      priming.parse_primer(bad)
  with pytest.raises(UserError, match='--key'):
    samplers.scale_mask('H', 'major')


def test_primer_notes_take_scientific_note_names():
  # C4 is middle C (60); sharps and flats; octave -1 reaches pitch 0, G9 is 127.
  primer = priming.parse_primer('D4,E4,F#4:2,_,Bb3,bb3,C-1,G9,60')
  assert primer.tolist() == [63, 65, 67, 67, 0, 59, 59, 1, 128, 61]


def test_a_primer_longer_than_the_limit_is_refused_before_it_is_built():
  with pytest.raises(UserError, match='at most 100000'):
    priming.parse_primer('60:99999999')
  with pytest.raises(UserError, match='at most 100000'):
    priming.parse_primer('61,62,63:1000000000')
  assert len(priming.parse_primer(f'60:{priming.MAX_STEPS}')) == priming.MAX_STEPS


def naive_sampler(model, num_steps, temperature):
  """The straightforward loop: re-run the model over the whole window for every token."""

  @jax.jit
  def sample(primes, key):
    def step(window, step_key):
      token = jax.random.categorical(step_key, model(StepInputs(window)) / temperature).astype(window.dtype)
      return jax.numpy.concatenate([window[:, 1:], token[:, None]], axis=1), token

    _, tokens = jax.lax.scan(step, primes.astype(jax.numpy.int32),
                             jax.random.split(key, num_steps))
    return tokens.T

  return sample


@pytest.mark.parametrize('num_layers', [1, 2])
def test_the_fast_sampler_draws_what_the_naive_loop_draws(num_layers):
  model = training.build_model(rnn_size=24, num_layers=num_layers, dropout=0.2, seed=4)
  graphdef, params = nnx.split(model, nnx.Param)
  primes = np.random.default_rng(5).integers(0, 129, (6, 9)).astype(np.uint8)
  fast = samplers.make_sampler(graphdef, 120, temperature=1.3)(params, primes,
                                                               jax.random.key(2)).tokens
  slow = naive_sampler(model, 120, temperature=1.3)(primes, jax.random.key(2))
  np.testing.assert_array_equal(fast, slow)


def whole_prefix_sampler(model, num_steps, temperature):
  """The straightforward sequence sampler: re-run the model over the whole prefix (primer and
  everything generated so far) for every token."""

  graphdef, params = nnx.split(model)

  @jax.jit
  def last_logits(inputs, last):
    # The LSTM is causal: the steps after ``last`` (padding, so one compiled shape serves
    # every prefix) cannot change its logits.
    logits = nnx.merge(graphdef, params).every_step(inputs)
    return jax.lax.dynamic_index_in_dim(logits, last, axis=1, keepdims=False)

  def sample(primes, key, bar_positions=None):
    primer_steps = primes.shape[1]
    tokens = np.zeros((len(primes), primer_steps + num_steps), np.int32)
    tokens[:, :primer_steps] = primes
    positions = None if bar_positions is None else bar_positions[:, :tokens.shape[1]]
    for i, step_key in enumerate(jax.random.split(key, num_steps)):
      # The inputs of the whole prefix, by the pipeline's own function (the step being drawn
      # is still 0 in ``tokens``: its lookbacks are earlier steps).
      inputs = (StepInputs(tokens) if positions is None else model_inputs.map_arrays(
          lambda *rows: np.stack(rows),
          *(model_inputs.track_inputs(row, p, model.inputs) for row, p in zip(tokens, positions))))
      logits = last_logits(inputs, primer_steps + i - 1)
      tokens[:, primer_steps + i] = jax.random.categorical(step_key, logits / temperature)
    return tokens[:, primer_steps:]

  return sample


@pytest.mark.parametrize('num_layers', [1, 2])
def test_carried_state_sampling_equals_re_reading_the_whole_prefix(num_layers):
  model = training.build_model(rnn_size=24, num_layers=num_layers, dropout=0.2, seed=4)
  graphdef, params = nnx.split(model, nnx.Param)
  primes = np.random.default_rng(5).integers(0, 129, (4, 7)).astype(np.uint8)
  carried = samplers.make_sequence_sampler(graphdef, 40, temperature=1.3)(
      params, primes, jax.random.key(2)).tokens
  np.testing.assert_array_equal(carried,
                                whole_prefix_sampler(model, 40, 1.3)(primes, jax.random.key(2)))


@pytest.mark.parametrize('lookback', [False, True])
@pytest.mark.parametrize('make_sampler_of_mode', [samplers.make_sampler,
                                                  samplers.make_sequence_sampler])
def test_samplers_feed_each_step_its_bar_position(make_sampler_of_mode, lookback):
  model = training.build_model(rnn_size=16, num_layers=2, dropout=0.0, seed=4,
                               bar_position=True, lookback=lookback, copy_lookback=lookback)
  for kernel in (model.position_kernel, model.lookback_kernel, model.repeat_kernel,
                 model.copy_kernel, model.copy_bias):
    if kernel is not None:
      kernel[...] = 3 * jax.random.normal(jax.random.key(1), kernel[...].shape)
  graphdef, params = nnx.split(model, nnx.Param)
  # Bars of 3 steps, so that every lookback reaches back into the primer and the melody;
  # a different primer per melody; a low temperature, so that what the lookbacks add to the
  # logits decides tokens.
  tokens = np.random.default_rng(5).integers(1, 129, (3, 7)).astype(np.uint8)
  primes, positions = priming.stack_primes(
      [priming.Primer(row, np.arange(1, 8).astype(np.uint8) % 3, 3) for row in tokens], 30)
  sampled = make_sampler_of_mode(graphdef, 30, temperature=0.3)(params, primes,
                                                                jax.random.key(2), positions)
  expected = whole_prefix_sampler(model, 30, 0.3)(primes, jax.random.key(2), positions)
  if make_sampler_of_mode is samplers.make_sampler:  # It reads the last 7 steps only.
    np.testing.assert_array_equal(sampled.tokens[:, 0], expected[:, 0])
  else:
    np.testing.assert_array_equal(sampled.tokens, expected)
  if lookback:  # A lookback model is only ever sampled with positions: compare without it.
    plain = nnx.merge(graphdef, params)
    plain.lookback_kernel = plain.repeat_kernel = plain.copy_kernel = plain.copy_bias = None
    plain.inputs = ('bar_position',)
    graphdef, params = nnx.split(plain, nnx.Param)
  unpositioned = make_sampler_of_mode(graphdef, 30, temperature=0.3)(params, primes,
                                                                     jax.random.key(2))
  assert not np.array_equal(unpositioned.tokens, sampled.tokens)


def test_the_sequence_sampler_keeps_every_control():
  model = training.build_model(rnn_size=16, num_layers=2, dropout=0.0, seed=3)
  graphdef, params = nnx.split(model, nnx.Param)
  primes = np.random.default_rng(0).integers(0, 129, (6, 12)).astype(np.uint8)
  allowed = samplers.scale_mask('D', 'major')
  masked = samplers.make_sequence_sampler(graphdef, 200, temperature=5.0, allowed=allowed)(
      params, primes, jax.random.key(0))
  assert allowed[np.asarray(masked.tokens)].all() and (np.asarray(masked.scale_share) < 1).all()
  greedy = samplers.make_sequence_sampler(graphdef, 30, temperature=0.0)(
      params, primes, jax.random.key(0)).tokens
  top_1 = samplers.make_sequence_sampler(graphdef, 30, temperature=1.5, top_k=1)(
      params, primes, jax.random.key(9)).tokens
  np.testing.assert_array_equal(greedy, top_1)
  np.testing.assert_array_equal(greedy[:, 0], np.argmax(model(StepInputs(primes)), axis=-1))


def test_the_sequence_sampler_feeds_every_input_as_the_pipeline_computes_it():
  model = training.build_model(rnn_size=16, num_layers=1, dropout=0.0, seed=4, copy_lookback=True,
                               **{name: True for name in model_inputs.NAMES})
  for name, param in nnx.to_flat_state(nnx.state(model, nnx.Param)):
    if name[-1].endswith('kernel') or name[-1] == 'copy_bias':
      param[...] = 3 * jax.random.normal(jax.random.key(len(name[-1])), param[...].shape)
  graphdef, params = nnx.split(model, nnx.Param)
  # Bars of 3 steps, so that even 16 bars back reaches into the primer; held notes and few
  # pitches, so that the held steps count on and bars repeat.
  tokens = np.repeat(np.random.default_rng(5).choice([61, 62, 64], (3, 3)), 3, 1)[:, :7]
  tokens = tokens.astype(np.uint8)
  primes, positions = priming.stack_primes(
      [priming.Primer(row, np.arange(1, 8).astype(np.uint8) % 3, 3) for row in tokens], 60)
  sampled = samplers.make_sequence_sampler(graphdef, 60, temperature=0.5)(
      params, primes, jax.random.key(2), positions)
  expected = whole_prefix_sampler(model, 60, 0.5)(primes, jax.random.key(2), positions)
  np.testing.assert_array_equal(sampled.tokens, expected)
  held = model_inputs.track_inputs(np.concatenate([tokens[0], expected[0]]), positions[0],
                                   ('held_steps',)).held_steps
  assert held.max() >= 2  # Some note was held, so the count was put to the test.


@pytest.mark.parametrize('copy_bars', [False, True])
def test_end_rules_end_tunes_home_and_not_before_the_least_length(copy_bars):
  # An untrained model with tune ends (no cadence input of its own): its tunes end anywhere.
  options = dict(tune_ends=True, bar_position=True, lookback=copy_bars, copy_lookback=copy_bars,
                 copy_bars=copy_bars)
  model = training.build_model(rnn_size=16, num_layers=1, dropout=0.0, seed=6, **options)
  graphdef, params = nnx.split(model, nnx.Param)
  start = priming.as_tune_opening(priming.Primer(np.array([61], np.uint8),
                                                 np.array([0], np.uint8), 16), 0)
  primes, positions = priming.stack_primes([start] * 64, 160)

  def ended(rules):
    """(length, whether it ends home) of each tune of at least one step that the model ended."""
    sampled = samplers.make_sequence_sampler(graphdef, 160, temperature=1.0, end_rules=rules)(
        params, primes, jax.random.key(0), positions)
    tunes_ended = []
    for tokens, steps in zip(np.asarray(sampled.tokens), positions[:, 1:]):
      length = priming.tune_length(tokens)
      if length:
        meter = encoding.Meter(steps[:length].astype(np.uint8), np.full(length, 16, np.uint8),
                               np.full(length, 4, np.uint8))
        tunes_ended.append((length, tunes.ends_home(tokens[:length], meter)))
    return np.array(tunes_ended)

  as_the_model = ended(samplers.EndRules())
  assert len(as_the_model) >= 20 and as_the_model[:, 1].mean() < 0.5
  assert as_the_model[:, 0].min() < 30
  # The end all but certain at a home step, all but never elsewhere; none before 30 steps.
  ruled = ended(samplers.EndRules(home_ending=1e4, min_length=30))
  assert len(ruled) >= 20 and ruled[:, 1].all() and ruled[:, 0].min() >= 30
