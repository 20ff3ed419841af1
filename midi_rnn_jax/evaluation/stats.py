"""Musical statistics of token melodies, in the spirit of mgeval (Yang & Lerch 2018) and
muspy's metrics. Pure numpy: every function takes token arrays (0 = rest, p + 1 = pitch p).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from midi_rnn_jax.data import encoding
from midi_rnn_jax.evaluation.baselines import ngrams, rows_as_keys

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
PITCH_CLASS_NAMES = ('C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B')
# Note lengths in steps, bucketed: 1, 2, 3, 4, 5-7, 8-11, 12-15, 16 and longer.
LENGTH_BUCKETS = np.array([1, 2, 3, 4, 5, 8, 12, 16])
LENGTH_LABELS = ['1', '2', '3', '4', '5-7', '8-11', '12-15', '16+']
DEGENERATE_MAX_PERIOD = 16


def pitch_class_histogram(tokens: np.ndarray) -> np.ndarray:
  """Share of sounding steps on each of the 12 pitch classes (C first)."""
  sounding = tokens[tokens != encoding.REST].astype(np.int64) - 1
  counts = np.bincount(sounding % 12, minlength=12).astype(float)
  return counts / max(counts.sum(), 1.0)


def entropy_bits(distribution: np.ndarray) -> float:
  p = distribution[distribution > 0]
  return float(-(p * np.log2(p)).sum())


def scale_consistency(tokens: np.ndarray) -> tuple[float, str]:
  """The largest share of sounding steps inside one major or natural-minor scale, and which."""
  histogram = pitch_class_histogram(tokens)
  best, best_name = -1.0, ''
  for root in range(12):
    for mode, scale in (('major', MAJOR), ('minor', MINOR)):
      share = float(histogram[(scale + root) % 12].sum())
      if share > best:
        best, best_name = share, f'{PITCH_CLASS_NAMES[root]} {mode}'
  return best, best_name


def span_scale_consistency(tokens: np.ndarray, span: int) -> tuple[float, float]:
  """Key drift: (mean scale consistency of successive ``span``-step spans, share of spans
  whose best scale differs from the span's before). A melody that keeps its key scores near
  its whole-file consistency and 0; one that wanders fits each span better than the file and
  changes scale often. Spans with no sounding step are left out."""
  spans = [tokens[i:i + span] for i in range(0, len(tokens) - span + 1, span)]
  fits = [scale_consistency(s) for s in spans if np.any(s != encoding.REST)]
  if not fits:
    return 0.0, 0.0
  changes = [a[1] != b[1] for a, b in zip(fits, fits[1:])]
  return float(np.mean([f[0] for f in fits])), float(np.mean(changes)) if changes else 0.0


def bar_repetition(tokens: np.ndarray, bar_steps: int, pickup: int = 0) -> float:
  """Share of the bars (after the first) that repeat an earlier bar of the melody exactly:
  phrases that come back, as folk tunes are made of (``repeated_bars``). ``pickup``: the steps
  before the first bar line."""
  bars = [tuple(tokens[i:i + bar_steps])
          for i in range(pickup, len(tokens) - bar_steps + 1, bar_steps)]
  share = repeated_bars(bars)
  return 0.0 if share is None else share


def repeated_bars(bars: Sequence[tuple]) -> float | None:
  """Share of ``bars`` (after the first) equal to an earlier one. Bars of one held token or
  silence do not count (a held note repeats itself trivially); None when no bar counts."""
  seen, repeats, counted = set(), 0, 0
  for bar in bars:
    if len(set(bar)) > 1:
      counted += bool(seen)
      repeats += bar in seen
      seen.add(bar)
  return repeats / counted if counted else None


def excerpts(tracks: Sequence[np.ndarray], meters: Sequence[encoding.Meter], length: int,
             count: int, rng: np.random.Generator) -> list[tuple[np.ndarray, int]]:
  """Up to ``count`` different random excerpts of ``length`` steps that start on a bar line,
  each with its bar length; drawn uniformly over such starts in the tracks long enough (the
  whole tracks when none is)."""
  starts = [(t, m, s) for t, m in zip(tracks, meters)
            for s in np.flatnonzero(m.positions[:max(len(t) - length + 1, 0)] == 0)]
  if not starts:
    return [(t, int(m.bar_lengths[0])) for t, m in zip(tracks, meters)]
  chosen = rng.choice(len(starts), min(count, len(starts)), replace=False)
  return [(t[s:s + length], int(m.bar_lengths[s])) for t, m, s in (starts[i] for i in chosen)]


def note_length_histogram(tokens: np.ndarray) -> np.ndarray:
  """Share of notes in each LENGTH_BUCKETS bucket."""
  _, lengths = encoding.notes(tokens)
  counts = np.bincount(np.searchsorted(LENGTH_BUCKETS, lengths, side='right') - 1,
                       minlength=len(LENGTH_BUCKETS)).astype(float)
  return counts / max(counts.sum(), 1.0)


def longest_repeat(tokens: np.ndarray) -> int:
  """Length of the longest run of tokens that occurs at least twice in the melody."""
  return _longest(lambda n: _has_duplicate(tokens, n), len(tokens) - 1)


def _has_duplicate(tokens: np.ndarray, n: int) -> bool:
  keys = rows_as_keys(ngrams([tokens], n))
  return len(np.unique(keys)) < len(keys)


def repeating_period(tokens: np.ndarray, max_period: int = DEGENERATE_MAX_PERIOD) -> int:
  """The shortest period (<= max_period steps) with which the second half of the melody
  repeats itself exactly (1: one held token or rest); 0 when there is none."""
  half = tokens[len(tokens) // 2:]
  for period in range(1, min(max_period, len(half) - 1) + 1):
    if np.array_equal(half[period:], half[:-period]):
      return period
  return 0


# A melody with at least this share of rest steps counts as "almost all rests".
MOSTLY_RESTS = 0.9


def degeneration(tokens: np.ndarray) -> str | None:
  """Why a generated melody is not worth listening to, or None: one held note (or none),
  almost all rests, or a second half that loops one short pattern."""
  tokens = np.asarray(tokens)
  pitches, _ = encoding.notes(tokens)
  rests = float(np.mean(tokens == encoding.REST)) if len(tokens) else 1.0
  if len(pitches) <= 1:
    return 'one held note' if len(pitches) else 'all rests'
  if rests >= MOSTLY_RESTS:
    return f'almost all rests ({rests:.0%})'
  if (period := repeating_period(tokens)):
    if period > 1:
      return f'its second half loops a {period}-step pattern'
    return ('its second half is silent' if tokens[-1] == encoding.REST else
            'its second half holds one note')
  return None


def longest_shared_run(tokens: np.ndarray, training: 'TrainingNgrams') -> int:
  """Length of the longest token run that also occurs in a training track."""

  def shared(n):
    mine = np.sort(ngram_hashes([tokens], n))
    train = training(n)
    if not len(mine) or not len(train):
      return False
    # The few hashes of the melody sorted, the many of the training tracks looked up in them.
    index = np.minimum(np.searchsorted(mine, train), len(mine) - 1)
    return bool(np.any(mine[index] == train))

  return _longest(shared, len(tokens))


# Odd, so invertible modulo 2**64.
_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)
_HASH_INVERSE = np.uint64(pow(int(_HASH_BASE), -1, 2**64))


class TrainingNgrams:
  """A 64-bit polynomial hash of every run of n consecutive tokens inside each track, for any
  n, from prefix sums of the tracks laid end to end computed once: a long n-gram costs 8 bytes,
  not n (report matches runs of up to a whole melody against millions of training steps). Two
  different runs share a hash with a probability of about 2**-64."""

  def __init__(self, tracks: Sequence[np.ndarray]):
    self.lengths = np.array([len(t) for t in tracks], np.int64)
    self.offsets = np.cumsum(self.lengths) - self.lengths
    flat = (np.concatenate(tracks).astype(np.uint64) if len(tracks)
            else np.zeros(0, np.uint64)) + np.uint64(1)
    with np.errstate(over='ignore'):  # Arithmetic modulo 2**64 is the point.
      self.powers = np.cumprod(np.full(len(flat), _HASH_BASE, np.uint64)) * _HASH_INVERSE
      inverses = np.cumprod(np.full(len(flat), _HASH_INVERSE, np.uint64)) * _HASH_BASE
      # sums[k]: the sum of flat[j] * B**-j for j < k; a run's hash is B**last times its part.
      self.sums = np.concatenate([[np.uint64(0)], np.cumsum(flat * inverses, dtype=np.uint64)])

  def __call__(self, n: int) -> np.ndarray:
    """The hashes of every n-gram of the tracks, in order."""
    counts = np.maximum(self.lengths - n + 1, 0) if n >= 1 else np.zeros_like(self.lengths)
    starts = np.repeat(self.offsets, counts) + encoding.ragged_arange(counts)
    with np.errstate(over='ignore'):
      return self.powers[starts + n - 1] * (self.sums[starts + n] - self.sums[starts])


def ngram_hashes(tracks: Sequence[np.ndarray], n: int) -> np.ndarray:
  """``TrainingNgrams(tracks)(n)``: the hash of every n-gram inside each track."""
  return TrainingNgrams(tracks)(n)


def _longest(holds, upper: int) -> int:
  """The largest n in 1..upper for which the monotone ``holds(n)`` is true (0 if none)."""
  low, high = 0, max(upper, 0)
  while low < high:
    middle = (low + high + 1) // 2
    if holds(middle):
      low = middle
    else:
      high = middle - 1
  return low


def melody_features(tokens: np.ndarray, bar_steps: int = 16, pickup: int = 0) -> dict:
  """The per-file statistics of one melody; ``bar_steps``: the steps of a bar (16: 4/4 in
  16th notes), for the key-drift spans (4 bars) and the bar repetition; ``pickup``: the steps
  before its first bar line."""
  tokens = np.asarray(tokens, np.uint8)
  pitches, _ = encoding.notes(tokens)
  intervals = np.abs(np.diff(pitches))
  histogram = pitch_class_histogram(tokens)
  consistency, scale = scale_consistency(tokens)
  span_consistency, span_key_changes = span_scale_consistency(tokens, 4 * bar_steps)
  return {
      'steps': int(len(tokens)),
      'notes': int(len(pitches)),
      'pitch_range': int(pitches.max() - pitches.min()) if len(pitches) else 0,
      'pitches_used': int(len(np.unique(pitches))),
      'pitch_class_histogram': histogram.round(6).tolist(),
      'pitch_class_entropy_bits': entropy_bits(histogram),
      'scale_consistency': consistency,
      'best_scale': scale,
      'span_scale_consistency': span_consistency,
      'span_key_changes': span_key_changes,
      'bar_repetition': bar_repetition(tokens, bar_steps, pickup),
      'note_length_histogram': note_length_histogram(tokens).round(6).tolist(),
      'rest_ratio': float(np.mean(tokens == encoding.REST)) if len(tokens) else 0.0,
      'mean_abs_interval': float(intervals.mean()) if len(intervals) else 0.0,
      'repeated_note_rate': float(np.mean(intervals == 0)) if len(intervals) else 0.0,
      'longest_repeat': longest_repeat(tokens),
      'repeating_period': repeating_period(tokens),
  }


# The scalar features compared between generated and training files.
SCALAR_FEATURES = ('pitch_range', 'pitches_used', 'pitch_class_entropy_bits',
                   'scale_consistency', 'span_scale_consistency', 'span_key_changes',
                   'bar_repetition', 'rest_ratio', 'mean_abs_interval', 'repeated_note_rate')


def overlap_area(a: Sequence[float], b: Sequence[float], points: int = 512) -> float:
  """Overlapping area of two Gaussian kernel density estimates (Scott's bandwidth):
  mgeval's relative measure, 1 for identical distributions and near 0 for disjoint ones."""
  a, b = np.asarray(a, float), np.asarray(b, float)
  if len(a) == 0 or len(b) == 0:
    return float('nan')
  spread = max(np.std(np.concatenate([a, b])), 1e-3)
  width_a = max(np.std(a), spread * 0.1) * len(a) ** -0.2
  width_b = max(np.std(b), spread * 0.1) * len(b) ** -0.2
  low = min(a.min() - 4 * width_a, b.min() - 4 * width_b)
  high = max(a.max() + 4 * width_a, b.max() + 4 * width_b)
  grid = np.linspace(low, high, points)

  def density(samples, width):
    z = (grid[:, None] - samples[None, :]) / width
    return np.exp(-0.5 * z * z).sum(axis=1) / (len(samples) * width * np.sqrt(2 * np.pi))

  return float(np.trapezoid(np.minimum(density(a, width_a), density(b, width_b)), grid))
