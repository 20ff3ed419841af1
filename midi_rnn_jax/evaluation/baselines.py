"""Reference next-step models to compare the LSTM with: "repeat the previous step" and an
interpolated Witten-Bell n-gram over tokens. Pure numpy; fitted on token tracks.

Both give a probability to the target of each window (``tokens[i + window]`` after
``tokens[i : i + window]``), so their negative log-likelihoods compare directly with the
LSTM's on the same windows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from midi_rnn_jax.data import encoding, slicing
from midi_rnn_jax.data.model_inputs import StepInputs
from midi_rnn_jax.errors import UserError

V = encoding.NUM_CLASSES


def rows_as_keys(rows: np.ndarray) -> np.ndarray:
  """(N, k) uint8 rows -> (N,) byte strings that sort and compare as the rows do."""
  rows = np.ascontiguousarray(rows, dtype=np.uint8)
  if rows.shape[1] == 0:
    rows = np.zeros((len(rows), 1), np.uint8)  # The empty context: one key shared by all.
  return rows.view(np.dtype((np.void, rows.shape[1]))).ravel()


def _lookup(table_keys: np.ndarray, table_values: np.ndarray, keys: np.ndarray) -> np.ndarray:
  """Values of ``keys`` in a sorted key table; 0 where a key is absent."""
  if len(table_keys) == 0:
    return np.zeros(len(keys), table_values.dtype)
  index = np.minimum(np.searchsorted(table_keys, keys), len(table_keys) - 1)
  return np.where(table_keys[index] == keys, table_values[index], 0)


def ngrams(tracks: Sequence[np.ndarray], n: int) -> np.ndarray:
  """(count, n) every run of n consecutive tokens inside each track."""
  rows = [np.lib.stride_tricks.sliding_window_view(t, n) for t in tracks if len(t) >= n]
  return np.concatenate(rows) if rows else np.zeros((0, n), np.uint8)


@dataclasses.dataclass(frozen=True)
class _OrderCounts:
  gram_keys: np.ndarray  # sorted (context + token) keys
  gram_counts: np.ndarray
  context_keys: np.ndarray  # sorted context keys
  context_counts: np.ndarray  # c(h): how often h was followed by anything
  context_types: np.ndarray  # T(h): how many distinct tokens followed h


@dataclasses.dataclass(frozen=True)
class WittenBell:
  """Interpolated Witten-Bell n-gram: P(w|h) = (c(h,w) + T(h) P(w|h')) / (c(h) + T(h)),
  with h' the context one token shorter, down to a uniform distribution over the 129 tokens."""
  order: int
  counts: tuple[_OrderCounts, ...]

  @classmethod
  def fit(cls, tracks: Sequence[np.ndarray], order: int) -> 'WittenBell':
    counts = []
    for n in range(1, order + 1):
      grams = ngrams(tracks, n)
      gram_keys, gram_counts = np.unique(rows_as_keys(grams), return_counts=True)
      # Each distinct gram adds one type to the count T(h) of its context.
      unique_grams = gram_keys.view(np.uint8).reshape(-1, n)
      context_keys, context_types = np.unique(rows_as_keys(unique_grams[:, :-1]),
                                              return_counts=True)
      _, context_counts = np.unique(rows_as_keys(grams[:, :-1]), return_counts=True)
      counts.append(_OrderCounts(gram_keys, gram_counts, context_keys, context_counts,
                                 context_types))
    return cls(order, tuple(counts))

  def probabilities(self, contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """P(target | the last order-1 tokens of each context row); contexts are (N, >= order-1)."""
    probability = np.full(len(targets), 1.0 / V)
    for n, counts in enumerate(self.counts, start=1):
      history = contexts[:, contexts.shape[1] - (n - 1):] if n > 1 else contexts[:, :0]
      grams = np.concatenate([history, targets[:, None]], axis=1)
      c_hw = _lookup(counts.gram_keys, counts.gram_counts, rows_as_keys(grams))
      context = rows_as_keys(history)
      c_h = _lookup(counts.context_keys, counts.context_counts, context)
      t_h = _lookup(counts.context_keys, counts.context_types, context)
      seen = c_h > 0
      probability = np.where(
          seen, (c_hw + t_h * probability) / np.maximum(c_h + t_h, 1), probability)
    return probability

  def predict(self, contexts: np.ndarray) -> np.ndarray:
    """The most likely next token of each context. Only tokens seen in training can win:
    every unseen token has the same, lower, smoothed probability."""
    seen = self.counts[0].gram_keys.view(np.uint8)
    best_token = np.full(len(contexts), seen[0], np.uint8)
    best = np.full(len(contexts), -1.0)
    for token in seen:
      probability = self.probabilities(contexts, np.full(len(contexts), token, np.uint8))
      better = probability > best
      best_token[better], best[better] = token, probability[better]
    return best_token


def choose_order(train: Sequence[np.ndarray], validation: Sequence[np.ndarray],
                 window_size: int) -> tuple[WittenBell, dict[int, float], str]:
  """The order (1..window_size + 1) with the lowest validation NLL; stops once two longer
  orders in a row do no better. Returns the model (fitted on ``train``), the NLL of each
  order tried, and what the order was chosen on: the validation tracks, or, when they hold
  no window, every fifth training track (left out of the fit while choosing)."""
  contexts, targets = windows_of(validation, window_size)
  fit_on, chosen_on = train, 'validation tracks'
  if not len(targets):
    fit_on = [t for i, t in enumerate(train) if i % 5]
    contexts, targets = windows_of(train[::5], window_size)
    chosen_on = 'every fifth training track (no validation window)'
  if not len(targets) or not fit_on:
    raise UserError('too few tracks to choose the n-gram order on: it needs a validation '
                    'track, or two training tracks')
  tried, best_order = {}, None
  for order in range(1, window_size + 2):
    model = WittenBell.fit(fit_on, order)
    tried[order] = float(-np.mean(np.log(model.probabilities(contexts, targets))))
    if best_order is None or tried[order] < tried[best_order]:
      best_order = order
    elif order - best_order >= 2:
      break
  return WittenBell.fit(train, best_order), tried, chosen_on


@dataclasses.dataclass(frozen=True)
class RepeatPrevious:
  """Predicts the previous step again with the probability a step repeats in training;
  the rest of the mass goes to the other tokens in proportion to their (add-one) counts."""
  repeat_probability: float
  token_probability: np.ndarray  # (129,)

  @classmethod
  def fit(cls, tracks: Sequence[np.ndarray]) -> 'RepeatPrevious':
    pairs = ngrams(tracks, 2)
    repeat = float(np.mean(pairs[:, 0] == pairs[:, 1])) if len(pairs) else 0.5
    counts = np.bincount(np.concatenate(tracks), minlength=V) + 1.0
    return cls(repeat, counts / counts.sum())

  def probabilities(self, contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    previous = contexts[:, -1]
    other = self.token_probability[targets] / (1.0 - self.token_probability[previous])
    return np.where(targets == previous, self.repeat_probability,
                    (1.0 - self.repeat_probability) * other)

  def predict(self, contexts: np.ndarray) -> np.ndarray:
    """The previous token, unless some other token is more likely still."""
    previous = contexts[:, -1]
    ranked = np.argsort(-self.token_probability)
    other = np.where(ranked[0] == previous, ranked[1], ranked[0]).astype(np.uint8)
    return np.where(self.probabilities(contexts, previous) >= self.probabilities(contexts, other),
                    previous, other)


def windows_of(tracks: Sequence[np.ndarray], window_size: int) -> tuple[np.ndarray, np.ndarray]:
  """(contexts (N, window), targets (N,)) of every window of the tracks."""
  if not tracks:
    return np.zeros((0, window_size), np.uint8), np.zeros(0, np.uint8)
  contexts, targets = slicing.every_window([StepInputs(t) for t in tracks], window_size)
  return contexts.tokens, targets
