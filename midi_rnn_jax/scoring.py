"""Pure scoring: the probability a model gives each true next step, and the figures of it.

Used by ``python -m midi_rnn_jax.evaluate``; no flags, no files.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from midi_rnn_jax import encoding

EVAL_BATCH = 4096


def lstm_scores(graphdef: nnx.GraphDef, params, contexts: np.ndarray, positions: np.ndarray,
                lookbacks: np.ndarray | None, targets: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
  """(probability of each target, most likely token) under the LSTM reading each context
  (N, window) from a zero state; ``positions``, ``lookbacks``: the contexts' bar positions
  and lookback tokens (None for a model without them)."""

  @jax.jit
  def score(inputs, input_positions, input_lookbacks, target):
    model = nnx.merge(graphdef, params)
    log_probs = jax.nn.log_softmax(model(inputs.astype(jnp.int32), positions=input_positions,
                                         lookbacks=input_lookbacks))
    return (jnp.take_along_axis(log_probs, target[:, None].astype(jnp.int32), 1)[:, 0],
            jnp.argmax(log_probs, -1))

  def batch_of(array, first):
    """EVAL_BATCH rows from ``first``, padded: one shape, one compilation."""
    if array is None:
      return None
    rows = array[first:first + EVAL_BATCH]
    return np.pad(rows, [(0, EVAL_BATCH - len(rows))] + [(0, 0)] * (rows.ndim - 1))

  probabilities, predictions = [], []
  for first in range(0, len(targets), EVAL_BATCH):
    count = len(targets[first:first + EVAL_BATCH])
    log_p, best = score(*(batch_of(a, first) for a in (contexts, positions, lookbacks, targets)))
    probabilities.append(np.exp(np.asarray(log_p[:count], np.float64)))
    predictions.append(np.asarray(best[:count]))
  return np.concatenate(probabilities), np.concatenate(predictions)


# Tokens per batch when whole tracks are scored: bounds memory whatever a track's length.
WHOLE_TRACK_TOKENS = 1 << 17


def whole_track_scores(graphdef: nnx.GraphDef, params, tracks: list[np.ndarray],
                       positions: list[np.ndarray], lookbacks: list[np.ndarray] | None,
                       window_size: int) -> tuple[np.ndarray, np.ndarray]:
  """(probability of each target, most likely token) when the model reads each track from its
  start, for the same targets as ``baselines.windows_of``: every step with at least
  ``window_size`` steps before it, in track order. Tracks run in batches of similar length
  (padded to a power of two, so few shapes compile)."""

  @jax.jit
  def score(inputs, input_positions, input_lookbacks, targets):
    model = nnx.merge(graphdef, params)
    log_probs = jax.nn.log_softmax(model.every_step(inputs.astype(jnp.int32),
                                                    positions=input_positions,
                                                    lookbacks=input_lookbacks))
    return (jnp.take_along_axis(log_probs, targets[..., None].astype(jnp.int32), -1)[..., 0],
            jnp.argmax(log_probs, -1))

  buckets = {}
  for index, track in enumerate(tracks):
    buckets.setdefault(1 << int(np.ceil(np.log2(len(track) - 1))), []).append(index)
  probabilities, predictions = [None] * len(tracks), [None] * len(tracks)
  for length, members in buckets.items():
    per_batch = max(1, WHOLE_TRACK_TOKENS // length)
    for first in range(0, len(members), per_batch):
      batch = members[first:first + per_batch]
      inputs, input_positions, targets = np.zeros((3, per_batch, length), np.uint8)
      input_lookbacks = (None if lookbacks is None else
                         np.zeros((per_batch, length, 2 * len(encoding.LOOKBACK_BARS)), np.uint8))
      for row, index in enumerate(batch):
        steps = len(tracks[index]) - 1
        inputs[row, :steps] = tracks[index][:-1]
        input_positions[row, :steps] = positions[index][:-1]
        if lookbacks is not None:
          input_lookbacks[row, :steps] = lookbacks[index][:-1]
        targets[row, :steps] = tracks[index][1:]
      log_p, best = map(np.asarray, score(inputs, input_positions, input_lookbacks, targets))
      for row, index in enumerate(batch):
        scored = slice(window_size - 1, len(tracks[index]) - 1)
        probabilities[index] = np.exp(log_p[row, scored].astype(np.float64))
        predictions[index] = best[row, scored]
  return np.concatenate(probabilities), np.concatenate(predictions)


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
