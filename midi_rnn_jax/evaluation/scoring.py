"""Pure scoring: the probability a model gives each true next step, and the figures of it.

Used by ``python -m midi_rnn_jax.evaluate``; no flags, no files.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from midi_rnn_jax.data import bar_copies
from midi_rnn_jax.data.encoding import NUM_CLASSES
from midi_rnn_jax.data.model_inputs import LOOKBACK_BARS
from midi_rnn_jax.data.model_inputs import StepInputs, map_arrays

EVAL_BATCH = 4096


def note_log_probs(logits: jax.Array) -> jax.Array:
  """Log-probabilities over the 129 note classes (rest and pitches), renormalised without a
  model's tune-end class: the figures of models with and without it compare."""
  return jax.nn.log_softmax(logits[..., :NUM_CLASSES])


def lstm_scores(graphdef: nnx.GraphDef, params, contexts: StepInputs, targets: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
  """(probability of each target, most likely token) under the LSTM reading each context
  (N, window) from a zero state."""

  @jax.jit
  def score(inputs, target):
    model = nnx.merge(graphdef, params)
    log_probs = note_log_probs(model(inputs))
    return (jnp.take_along_axis(log_probs, target[:, None].astype(jnp.int32), 1)[:, 0],
            jnp.argmax(log_probs, -1))

  def batch_of(array, first):
    """EVAL_BATCH rows from ``first``, padded: one shape, one compilation."""
    rows = array[first:first + EVAL_BATCH]
    return np.pad(rows, [(0, EVAL_BATCH - len(rows))] + [(0, 0)] * (rows.ndim - 1))

  probabilities, predictions = [], []
  for first in range(0, len(targets), EVAL_BATCH):
    count = len(targets[first:first + EVAL_BATCH])
    log_p, best = score(map_arrays(lambda a: batch_of(a, first), contexts),
                        batch_of(targets, first))
    probabilities.append(np.exp(np.asarray(log_p[:count], np.float64)))
    predictions.append(np.asarray(best[:count]))
  return np.concatenate(probabilities), np.concatenate(predictions)


# Tokens per batch when whole tracks are scored: bounds memory whatever a track's length.
WHOLE_TRACK_TOKENS = 1 << 17


class WholeTrackScores(NamedTuple):
  probabilities: np.ndarray  # of each target, over the 129 note classes
  predictions: np.ndarray  # the most likely note class
  # A model with tune ends: the probability it gives the end after each track's last step, and
  # (concatenated) at each scored step before it, where the tune goes on. None without.
  end_at_end: np.ndarray | None = None
  end_before: np.ndarray | None = None
  # A copy_bars model: at each bar line of the tracks, the probability of the options the bar
  # fits (bar_copies.option_sets), of copying at all, and whether the bar fits a copy. None
  # without.
  copy_fit: np.ndarray | None = None
  copy_chance: np.ndarray | None = None
  fits_a_copy: np.ndarray | None = None


def whole_track_scores(graphdef: nnx.GraphDef, params, tracks: list[StepInputs],
                       window_size: int, tune_ends: bool = False) -> WholeTrackScores:
  """The scores when the model reads each track (its StepInputs) from its start, for the same
  targets as ``baselines.windows_of``: every step with at least ``window_size`` steps before it,
  in track order. With ``tune_ends`` the tracks are read between their TUNE_END marks
  (``model_inputs.model_track``); the notes scored are the same. A copy_bars model's
  probability of each note is the one its sampler draws it with (``copy_mixture``). Tracks run
  in batches of similar length (padded to a power of two, so few shapes compile)."""

  @jax.jit
  def score(inputs, targets, kinds, copy_rows):
    model = nnx.merge(graphdef, params)
    recent = (bar_copies.recent_targets(copy_rows)[0] if model.form_decisions else None)
    logits, copy_logits = model.every_step_outputs(inputs, bar_kinds=kinds, recent=recent)
    log_probs = note_log_probs(logits)
    notes = jnp.minimum(targets, NUM_CLASSES - 1).astype(jnp.int32)  # TUNE_END: scored apart.
    return (jnp.take_along_axis(log_probs, notes[..., None], -1)[..., 0],
            jnp.argmax(log_probs, -1),
            jax.nn.softmax(logits)[..., -1] if tune_ends else None,
            None if copy_logits is None else jax.nn.softmax(copy_logits),
            bar_copies.form_decision_targets(targets, copy_rows, model.form_ends)
            if model.form_decisions else copy_rows)

  buckets = {}
  for index, track in enumerate(tracks):
    buckets.setdefault(1 << int(np.ceil(np.log2(len(track.tokens) - 1))), []).append(index)
  probabilities, predictions = [None] * len(tracks), [None] * len(tracks)
  end_at_end, end_before = [None] * len(tracks), [None] * len(tracks)
  decisions = [[] for _ in tracks]
  model = nnx.merge(graphdef, params)
  copies, form_decisions = model.bar_copy_head is not None, model.form_decisions
  for length, members in buckets.items():
    per_batch = max(1, WHOLE_TRACK_TOKENS // length)
    for first in range(0, len(members), per_batch):
      batch = members[first:first + per_batch]
      inputs = map_arrays(lambda a: np.zeros((per_batch, length) + a.shape[1:], np.uint8),
                          tracks[batch[0]])
      targets = np.zeros((per_batch, length), np.uint8)
      copy_targets = {}
      kinds = np.zeros((per_batch, length), np.int32)
      copy_rows = np.zeros((per_batch, length), np.uint8)
      for row, index in enumerate(batch):
        steps = len(tracks[index].tokens) - 1
        map_arrays(lambda padded, values: padded.__setitem__((row, slice(0, steps)), values[:-1]),
                   inputs, tracks[index])
        targets[row, :steps] = tracks[index].tokens[1:]
        if copies:  # Every bar scored as new by the steps: copy_mixture adds the copies.
          copy_targets[index] = bar_copies.copy_targets(tracks[index].tokens,
                                                        tracks[index].bar_position,
                                                        form_decisions)[:-1]
          copy_rows[row, :steps] = copy_targets[index]
          kinds[row, :steps] = np.where(np.cumsum(copy_targets[index]) > 0, bar_copies.NEW,
                                        bar_copies.UNKNOWN)
      log_p, best, p_end, p_copy, decision_targets = (
          None if a is None else np.asarray(a)
          for a in score(inputs, targets, kinds if copies else None,
                         copy_rows if copies else None))
      for row, index in enumerate(batch):
        last = len(tracks[index].tokens) - 1 - tune_ends  # The input before the last note.
        scored = slice(window_size - 1 + tune_ends, last)
        if copies:
          steps = len(copy_targets[index])
          probabilities[index] = copy_mixture(
              np.exp(log_p[row, :steps].astype(np.float64)),
              bar_copies.drawn_as(p_copy[row, :steps]),
              copy_targets[index], tracks[index].lookback[:-1, :len(LOOKBACK_BARS)]
              == tracks[index].tokens[1:, None])[scored]
        else:
          probabilities[index] = np.exp(log_p[row, scored].astype(np.float64))
        predictions[index] = best[row, scored]
        if tune_ends:
          end_at_end[index] = p_end[row, last:last + 1].astype(np.float64)
          end_before[index] = p_end[row, scored].astype(np.float64)
        if copies:
          # As training scores them (a form model's: bar_copies.form_decision_targets).
          decisions[index] = _bar_decisions(decision_targets[row, :steps], p_copy[row])
  decided = [np.concatenate(d) for d in zip(*decisions)] if copies else [None] * 3
  ends = map(np.concatenate, (end_at_end, end_before)) if tune_ends else (None, None)
  return WholeTrackScores(np.concatenate(probabilities), np.concatenate(predictions), *ends,
                          *decided)


def copy_mixture(p_new: np.ndarray, p_options: np.ndarray, copy_targets: np.ndarray,
                 copies_target: np.ndarray) -> np.ndarray:
  """A copy_bars model's probability of each target of a track, as its sampler draws it: at
  each bar line the bar is new (its steps then drawn with probabilities ``p_new``) or a copy of
  the bar LOOKBACK_BARS[k] back, with the decision's probabilities ``p_options`` (steps,
  NUM_OPTIONS); so a step's probability is the mixture over the decisions still possible
  after the bar's steps so far (a copy while each of them equals it, ``copies_target`` (steps,
  k)), weighted by their probability given those steps. The product over a bar is the bar's
  probability, sum over options of P(option) P(bar | option). Before a track's first bar line,
  ``p_new``. ``copy_targets``: bar_copies.copy_targets of the input steps."""
  decided = copy_targets > 0
  starts = np.flatnonzero(decided)
  if not len(starts):
    return p_new
  bar = np.maximum(np.cumsum(decided) - 1, 0)
  first = starts[bar]  # Each step's bar line (the first's, before it: masked below).
  log_new = np.concatenate([[0.0], np.cumsum(np.log(p_new))])
  misses = np.concatenate([np.zeros((1, copies_target.shape[1])),
                           np.cumsum(~copies_target, axis=0)])
  steps = np.arange(len(p_new))
  weight_new = p_options[first, bar_copies.NEW_BAR] * np.exp(log_new[steps] - log_new[first])
  weight_copies = p_options[first, 1:] * (misses[steps] == misses[first])
  mixed = ((np.sum(weight_copies * copies_target, -1) + weight_new * p_new)
           / (np.sum(weight_copies, -1) + weight_new))
  return np.where(steps >= starts[0], mixed, p_new)


def _bar_decisions(targets: np.ndarray, p_copy: np.ndarray) -> tuple[np.ndarray, ...]:
  """A copy_bars model's figures at each bar line of one track (``targets``: its input steps'
  copy targets; ``p_copy``: its option probabilities after them): WholeTrackScores' copy_fit,
  copy_chance, fits_a_copy."""
  decided = np.flatnonzero(targets)
  fits = bar_copies.option_sets(targets[decided], options=p_copy.shape[-1])
  p = p_copy[decided].astype(np.float64)
  not_copies = p[:, bar_copies.NEW_BAR] + np.sum(p[:, bar_copies.LAST_BAR:], -1)
  return (np.sum(p * fits, -1), 1 - not_copies,
          np.any(fits[:, 1:bar_copies.NUM_OPTIONS], -1))


def bar_copy_summary(scores: WholeTrackScores) -> dict:
  """How well a copy_bars model decides, at each bar line, whether the bar is a copy: the NLL
  of the options each bar fits, and the mean chance it gives a copy beside the share of bars
  that are copies (equal when its decisions are calibrated)."""
  return {'bar_lines': int(len(scores.copy_fit)),
          'nll_nats': float(-np.mean(np.log(scores.copy_fit))),
          'mean_copy_probability': float(np.mean(scores.copy_chance)),
          'share_of_copies': float(np.mean(scores.fits_a_copy))}


def tune_end_summary(scores: WholeTrackScores) -> dict:
  """How well a model with tune ends knows where tunes end: the NLL of the end after each
  tune's last step, and of "not yet" at every step scored before it, in nats."""
  return {'tunes': int(len(scores.end_at_end)),
          'end_nll_nats': float(-np.mean(np.log(scores.end_at_end))),
          'not_yet_nll_nats': float(-np.mean(np.log1p(-scores.end_before))),
          'mean_end_probability_before': float(np.mean(scores.end_before))}


def summary(probabilities: np.ndarray, predictions: np.ndarray, targets: np.ndarray,
            previous: np.ndarray) -> dict:
  """The figures of one model: on all windows, and on the windows whose target changes."""

  def figures(mask):
    nll = float(-np.mean(np.log(probabilities[mask]))) if mask.any() else float('nan')
    return {'windows': int(mask.sum()), 'nll_nats': nll, 'nll_bits': nll / math.log(2),
            'perplexity': math.exp(nll),
            'accuracy': float(np.mean(predictions[mask] == targets[mask])) if mask.any()
                        else float('nan')}

  return {'all': figures(np.ones(len(targets), bool)), 'change': figures(targets != previous)}
