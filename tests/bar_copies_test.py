"""Whole-bar copies: the decision's targets, its loss, and the sampler's copies."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from conftest import REPO, run_module
from midi_rnn_jax.data import bar_copies, encoding, model_inputs
from midi_rnn_jax.data.input_pipeline import Batch
from midi_rnn_jax.data.model_inputs import LOOKBACK_BARS, StepInputs, TUNE_END
from midi_rnn_jax.evaluation import scoring
from midi_rnn_jax.generate import bar_copier, samplers
from midi_rnn_jax.model import training

A, B, C = [60, 60, 62, 64], [65, 65, 67, 67], [69, 67, 65, 64]  # Bars of 4 steps.


def test_each_bar_line_says_which_earlier_bars_the_coming_bar_repeats():
  tokens = np.array(A + B + A + B + C + B, np.uint8)
  steps = model_inputs.model_track(tokens, _meter(len(tokens)), ('bar_position',), True)
  targets = bar_copies.copy_targets(steps.tokens, steps.bar_position)
  # The mark before the tune, then the last step of each bar, decide the bar after them.
  decisions = np.flatnonzero(targets)
  assert decisions.tolist() == [0, 4, 8, 12, 16, 20, 24]
  fits = bar_copies.option_sets(targets[decisions])
  names = ['new', 'copy 1', 'copy 2', 'copy 4', 'copy 8']
  # B comes back 2 and 4 bars on; the tune's end repeats nothing.
  assert [[n for n, f in zip(names, row) if f] for row in fits] == [
      ['new'], ['new'], ['copy 2'], ['copy 2'], ['new'], ['copy 2', 'copy 4'], ['new']]  # The tune's end repeats nothing.
  assert steps.tokens[-1] == TUNE_END


def test_the_decision_loss_is_the_nll_of_the_options_the_bar_fits():
  logits = jnp.log(jnp.array([[[0.4, 0.1, 0.2, 0.25, 0.05]] * 3]))
  copies = np.array([[0, 1 + 0b0110, 1]], np.uint8)  # No decision; copy 2 or 4; new.
  batch = Batch(StepInputs(np.zeros((1, 3), np.uint8)), np.zeros((1, 3), np.uint8),
                np.ones((1, 3), np.float32), bar_copies=copies)
  metrics = training.batch_metrics(jnp.zeros((1, 3, 129)), batch, logits)
  assert float(metrics.copy_count) == 2
  np.testing.assert_allclose(float(metrics.copy_loss), -np.log(0.45) - np.log(0.4), rtol=1e-5)


def test_a_copy_models_step_probabilities_multiply_to_each_bars_mixture_probability():
  rng = np.random.default_rng(0)
  p_new = rng.uniform(0.05, 1, 11)
  p_options = rng.dirichlet(np.ones(5), 11)
  targets = np.array([0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0], np.uint8)  # Bar lines after 3 and 7.
  copies_target = rng.random((11, 4)) < 0.3
  copies_target[7:11, 1] = True  # The second bar equals the bar 2 back.
  copies_target[9, 0] = True
  p = scoring.copy_mixture(p_new, p_options, targets, copies_target)
  np.testing.assert_allclose(p[:3], p_new[:3])  # Before the first bar line: the steps alone.
  for first, bar in ((3, slice(3, 7)), (7, slice(7, 11))):
    whole = (p_options[first, 0] * np.prod(p_new[bar])
             + np.sum(p_options[first, 1:] * np.all(copies_target[bar], axis=0)))
    np.testing.assert_allclose(np.prod(p[bar]), whole, rtol=1e-10)
  assert (p > 0).all() and (p <= 1).all()


def _meter(steps):
  return encoding.Meter(np.arange(steps, dtype=np.uint8) % 4, np.full(steps, 4, np.uint8),
                        np.full(steps, 4, np.uint8))


def copy_model(head_bias, copy_path=0.0):
  """A copy_bars model whose decisions are fixed by ``head_bias`` and whose steps follow the
  token of one bar back with the weight ``copy_path``."""
  model = training.build_model(rnn_size=8, num_layers=1, dropout=0.0, seed=0, bar_position=True,
                               lookback=True, copy_lookback=True, copy_bars=True)
  model.bar_copy_head.kernel[...] = jnp.zeros_like(model.bar_copy_head.kernel[...])
  model.bar_copy_head.bias[...] = jnp.asarray(head_bias, jnp.float32)
  model.copy_bias[...] = jnp.array([copy_path, 0.0, 0.0, 0.0])
  return nnx.split(model, nnx.Param)


@functools.cache
def sampler_of(graphdef):
  """One jitted sampler for every copy_model (they share a graph): one compilation."""
  return samplers.make_sequence_sampler(graphdef, 48, temperature=1.0)


def sample_bars(graphdef, params, seed):
  """Six melodies of 12 bars of 4 steps after the primer bar A."""
  primes = np.tile(np.array(A, np.uint8), (6, 1))
  positions = np.tile(np.arange(4 + 48) % 4, (6, 1)).astype(np.uint8)
  tokens = sampler_of(graphdef)(params, primes, jax.random.key(seed), positions).tokens
  return np.asarray(tokens).reshape(6, 12, 4)


def test_a_bar_the_model_copies_is_the_bar_it_names_step_for_step():
  bars = sample_bars(*copy_model([-30.0, 30.0, -30.0, -30.0, -30.0]), 0)  # Always 1 bar back.
  assert (bars == np.array(A)).all()  # The primer's bar, again and again.


def test_a_new_bar_is_drawn_from_the_bars_that_are_no_copy():
  # Told to play new bars, with a copy path that follows the bar before 6 steps in 10: about
  # one bar of 8 would be a copy of it, one of 4,000 for all four candidates.
  graphdef, params = copy_model([30.0, -30.0, -30.0, -30.0, -30.0], copy_path=5.3)
  bars = sample_bars(graphdef, params, 1)
  previous = np.concatenate([np.tile(np.array(A), (6, 1, 1)), bars[:, :-1]], axis=1)
  same = bars == previous
  assert not same[:, :-1].all(-1).any()  # The last bar has no bar line after it to check.
  assert same.mean() > 0.4  # The steps still follow the copy path.


def test_copy_bars_needs_the_copy_path(tmp_path):
  result = run_module('train', '--mode=sequence', '--bar_position', '--lookback', '--copy_bars',
                      cwd=tmp_path)
  assert result.returncode == 1  # absl's own refusal of a flag combination.
  assert '--copy_bars needs --copy_lookback and --mode=sequence' in result.stderr


def test_form_decisions_need_the_bar_copies_and_the_bar_number(tmp_path):
  result = run_module('train', '--mode=sequence', '--bar_position', '--lookback',
                      '--copy_lookback', '--copy_bars', '--form_decisions', cwd=tmp_path)
  assert result.returncode == 1  # absl's own refusal of a flag combination.
  assert '--form_decisions needs --copy_bars and --bar_number' in result.stderr


def test_a_form_model_decides_from_the_bars_it_played_as_training_reads_them():
  # Its head copies the bar before unless the bar before was a copy of its own bar before:
  # after the primer's bar A, pairs of equal bars (A A, X X, Y Y, ...).
  model = training.build_model(rnn_size=8, num_layers=1, dropout=0.0, seed=0, bar_position=True,
                               bar_number=True, lookback=True, copy_lookback=True,
                               copy_bars=True, form_decisions=True)
  kernel = np.zeros((bar_copies.NUM_FORM_FEATURES, bar_copies.NUM_OPTIONS), np.float32)
  kernel[0, 1] = 30.0  # No bar in a row repeated the bar before it: copy it.
  kernel[1:bar_copies.RECENT_BARS + 1, bar_copies.NEW_BAR] = 30.0  # One did: a new bar.
  model.bar_copy_head.kernel[...] = jnp.asarray(kernel)
  graphdef, params = nnx.split(model, nnx.Param)
  bars = sample_bars(graphdef, params, 2)
  assert (bars[:, 0] == np.array(A)).all()
  assert (bars[:, 2::2] == bars[:, 1:11:2]).all()
  assert not (bars[:, 1:10:2] == bars[:, 0:9:2]).all(-1).any()
  assert_decided_as_trained(model, bars)


def assert_decided_as_trained(model, bars):
  """Read teacher forced, with the form training reads from the copy targets, each bar line of
  the sampled ``bars`` (after the primer A) decides what the sampler played."""
  names = model.inputs
  for melody in bars:
    tokens = np.concatenate([np.array(A, np.uint8), melody.reshape(-1)])
    track = model_inputs.model_track(tokens, _meter(len(tokens)), names, False)
    targets = bar_copies.copy_targets(track.tokens, track.bar_position)
    recent, known = bar_copies.recent_targets(jnp.asarray(targets[None]))
    _, copy_logits = model.every_step_outputs(
        model_inputs.map_arrays(lambda values: jnp.asarray(values[None]), track),
        recent=recent)
    lines = np.flatnonzero(targets)[:-1]  # The last bar's line decides nothing played.
    options = np.argmax(np.asarray(copy_logits[0])[lines], -1)
    fits = bar_copies.option_sets(targets[lines])
    assert fits[np.arange(len(lines)), options].all() and bool(known.all())


def test_a_form_model_with_the_pace_reads_it_in_sampling_as_in_training():
  # Its head reads the pace alone: a new bar until 8 notes have begun in the last 64 steps (the
  # primer's bar A begins 3), then copies of the bar before.
  model = training.build_model(rnn_size=8, num_layers=1, dropout=0.0, seed=0, bar_position=True,
                               bar_number=True, lookback=True, copy_lookback=True,
                               copy_bars=True, form_decisions=True, pace=True)
  slow_paces = 8 // model_inputs.PACE_BUCKET
  kernel = np.zeros((bar_copies.num_form_features(pace=True), bar_copies.NUM_OPTIONS),
                    np.float32)
  kernel[bar_copies.NUM_FORM_FEATURES:][:slow_paces, bar_copies.NEW_BAR] = 30.0
  kernel[bar_copies.NUM_FORM_FEATURES:][slow_paces:, 1] = 30.0
  model.bar_copy_head.kernel[...] = jnp.asarray(kernel)
  graphdef, params = nnx.split(model, nnx.Param)
  bars = sample_bars(graphdef, params, 3)
  copied = (bars[:, 1:] == bars[:, :-1]).all(-1)
  assert not copied[:, 0].any() and copied[:, -4:].all()  # New bars first, copies at last.
  assert_decided_as_trained(model, bars)


def test_a_form_models_copied_bar_may_end_the_tune_a_state_models_does_not():
  # Both always copy the bar before, and both would end the tune at any step; only the form
  # model, whose decision cannot see an end coming, lets a copied bar end it.
  ended = {}
  for form in (False, True):
    model = training.build_model(rnn_size=8, num_layers=1, dropout=0.0, seed=0,
                                 bar_position=True, bar_number=True, lookback=True,
                                 copy_lookback=True, copy_bars=True, tune_ends=True,
                                 form_decisions=form)
    model.bar_copy_head.kernel[...] = jnp.zeros_like(model.bar_copy_head.kernel[...])
    model.bar_copy_head.bias[...] = jnp.array([-30.0, 30.0, -30.0, -30.0, -30.0])
    model.head.bias[...] = model.head.bias[...].at[TUNE_END].set(3.0)
    graphdef, params = nnx.split(model, nnx.Param)
    ended[form] = (np.asarray(sample_bars(graphdef, params, 3)) == TUNE_END).any(axis=(1, 2))
  assert not ended[False].any() and ended[True].all()


def test_a_form_model_learns_the_bar_a_tune_ends_in_as_new_though_the_bar_copies():
  tokens = np.array(A + B + A + B[:2], np.uint8)  # Ends two steps into a copy of B.
  steps = model_inputs.model_track(tokens, _meter(len(tokens)), ('bar_position',), True)
  last_line = np.flatnonzero(bar_copies.copy_targets(steps.tokens, steps.bar_position))[-1]
  fits = {end_copies: bar_copies.option_sets(bar_copies.copy_targets(
      steps.tokens, steps.bar_position, end_copies)[last_line]).tolist()
          for end_copies in (False, True)}
  # Counting the end as any step, the last bar copies B (what the steps of a copied bar
  # learn); the form's decision of that bar, which cannot see the end coming, learns it new.
  assert fits == {False: [True, False, False, False, False],
                  True: [False, False, True, False, False]}
  copies = bar_copies.copy_targets(steps.tokens, steps.bar_position, True)[None, :-1]
  batch = Batch(StepInputs(steps.tokens[None, :-1]), steps.tokens[None, 1:],
                np.ones(copies.shape, np.float32), bar_copies=copies)
  logits = jnp.broadcast_to(jnp.log(jnp.array([0.1, 0.1, 0.6, 0.1, 0.1])), copies.shape + (5,))
  losses = {known: float(training.batch_metrics(
      jnp.zeros(copies.shape + (130,)), batch, logits,
      None if known is None else jnp.ones(copies.shape, bool)).copy_loss) for known in (None, 1)}
  assert np.isclose(losses[1] - losses[None], np.log(0.6) - np.log(0.1), rtol=1e-5)


def test_form_ends_need_the_form_decisions_and_the_tune_ends(tmp_path):
  result = run_module('train', '--mode=sequence', '--bar_position', '--bar_number', '--lookback',
                      '--copy_lookback', '--copy_bars', '--form_decisions', '--form_ends',
                      cwd=tmp_path)
  assert result.returncode == 1  # absl's own refusal of a flag combination.
  assert '--form_ends needs --form_decisions and --tune_ends' in result.stderr


def test_a_form_ends_model_learns_the_bar_a_tune_ends_in_as_its_last():
  tokens = np.array(A + B + A + B[:2], np.uint8)  # Ends two steps into a copy of B.
  steps = model_inputs.model_track(tokens, _meter(len(tokens)), ('bar_position',), True)
  copies = bar_copies.copy_targets(steps.tokens, steps.bar_position, True)[None, :-1]
  decisions = bar_copies.form_decision_targets(jnp.asarray(steps.tokens[None, 1:]), copies, True)
  lines = np.flatnonzero(copies[0])
  fits = bar_copies.option_sets(np.asarray(decisions)[0, lines],
                                options=bar_copies.num_options(True))
  # New, new, a copy of A 2 back, then the last bar: only the last option fits it.
  assert fits.tolist() == [[True] + [False] * 5, [True] + [False] * 5,
                           [False, False, True, False, False, False],
                           [False] * 5 + [True]]
  batch = Batch(StepInputs(steps.tokens[None, :-1]), steps.tokens[None, 1:],
                np.ones(copies.shape, np.float32), bar_copies=copies)
  p = jnp.array([0.1, 0.1, 0.4, 0.1, 0.1, 0.2])
  metrics = training.batch_metrics(jnp.zeros(copies.shape + (130,)), batch,
                                   jnp.broadcast_to(jnp.log(p), copies.shape + (6,)),
                                   jnp.ones(copies.shape, bool))
  np.testing.assert_allclose(float(metrics.copy_loss), -2 * np.log(0.1) - np.log(0.4)
                             - np.log(0.2), rtol=1e-5)


def form_ends_model(head_bias):
  """A form_ends model whose decisions are fixed by ``head_bias`` (one per option)."""
  model = training.build_model(rnn_size=8, num_layers=1, dropout=0.0, seed=0, bar_position=True,
                               bar_number=True, lookback=True, copy_lookback=True,
                               copy_bars=True, tune_ends=True, form_decisions=True,
                               form_ends=True)
  model.bar_copy_head.kernel[...] = jnp.zeros_like(model.bar_copy_head.kernel[...])
  model.bar_copy_head.bias[...] = jnp.asarray(head_bias, jnp.float32)
  return model


def test_a_form_ends_model_ends_its_tunes_in_the_bar_it_names_last():
  # Its steps would play pitch 60 rather than end, but not by as much as the last bar's tilt;
  # its head plays new bars, and names a bar last from the 6th bar on. Drawn at temperature 0,
  # every tune ends at the start of that bar; without the last bar, none ends.
  ends = {}
  for last_from in (6, None):
    model = form_ends_model([30.0, -30.0, -30.0, -30.0, -30.0, 0.0])
    bar_numbers = len(LOOKBACK_BARS) * (bar_copies.RECENT_BARS + 1) + len(LOOKBACK_BARS) ** 2
    if last_from is not None:
      model.bar_copy_head.kernel[...] = model.bar_copy_head.kernel[...].at[
          bar_numbers + last_from:bar_numbers + bar_copies.MAX_FORM_BAR + 1,
          bar_copies.LAST_BAR].set(60.0)
    model.head.kernel[...] = jnp.zeros_like(model.head.kernel[...])
    tilt = np.log(bar_copier.END_TILT)
    model.head.bias[...] = jnp.zeros(130).at[60].set(5.0).at[TUNE_END].set(5.0 - tilt / 2)
    graphdef, params = nnx.split(model, nnx.Param)
    primes = np.tile(np.array(A, np.uint8), (2, 1))
    positions = np.tile(np.arange(4 + 48) % 4, (2, 1)).astype(np.uint8)
    sample = samplers.make_sequence_sampler(graphdef, 48, temperature=0.0)
    tokens = np.asarray(sample(params, primes, jax.random.key(0), positions).tokens)
    ends[last_from] = tokens.reshape(2, 12, 4) == TUNE_END
  assert not ends[None].any()
  # The decision at the end of the 6th bar (the primer's is the 1st) names the 5th sampled.
  assert ends[6][:, 5, 0].all() and not ends[6][:, :5].any()


def test_evaluate_scores_a_form_ends_models_last_bar_by_its_last_bar_option():
  bias = np.array([0.5, 0.1, 0.2, 0.3, 0.4, 1.0])
  model = form_ends_model(bias)
  graphdef, params = nnx.split(model, nnx.Param)
  tokens = np.array(A + B + A + B[:2], np.uint8)  # Its 4th bar, 1 and 2 bars after two, ends it.
  track = model_inputs.model_track(tokens, _meter(len(tokens)), model.inputs, True)
  scores = scoring.whole_track_scores(graphdef, params, [track], window_size=1, tune_ends=True)
  allowed = np.exp(bias[[0, 1, 2, 5]])  # New, 1 and 2 back, the last bar: no bar 4 or 8 back.
  assert scores.copy_fit[-1] == pytest.approx(allowed[-1] / allowed.sum(), rel=1e-5)
  assert not scores.fits_a_copy[-1]
  assert scores.copy_chance[-1] == pytest.approx(allowed[1:3].sum() / allowed.sum(), rel=1e-5)
  assert ((scores.probabilities > 0) & (scores.probabilities <= 1)).all()


def test_copy_decisions_reads_a_form_ends_models_decisions_as_its_sampler_draws_them(
    monkeypatch):
  monkeypatch.syspath_prepend(str(REPO / 'scripts'))
  import copy_decisions
  import end_placement
  odds = np.exp([0.5, 0.1, 0.2, 0.3, 0.4, 1.0])
  model = form_ends_model(np.log(odds))
  tokens = np.array((A + B) * 3, np.uint8)
  track = model_inputs.model_track(tokens, _meter(len(tokens)), model.inputs, True)
  p, fits = copy_decisions.decisions(end_placement.one_track_outputs(model), True, track)
  # Its last bar line read (the 5th bar, B again): new or the tune's last (drawn as new), or a
  # copy of the bar 1, 2 or 4 back; none 8 back.
  drawn = np.array([odds[0] + odds[5], odds[1], odds[2], odds[3], 0.0])
  np.testing.assert_allclose(p[-1], drawn / drawn.sum(), rtol=1e-5)
  np.testing.assert_array_equal(fits[-1], [False, False, True, True, False])
