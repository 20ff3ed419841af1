"""Whole-tune statistics: how long tunes are, how they end, and how often their bars and parts
come back. Pure numpy, on a tune's tokens and the bar position of each of its steps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from midi_rnn_jax.data import encoding, model_inputs
from midi_rnn_jax.evaluation import stats

# Parts of this many bars that come back (4: a phrase; 8: a strain of a reel or a jig).
PART_BARS = (4, 8)


def bars_of(tokens: np.ndarray, positions: np.ndarray) -> list[tuple]:
  """The tune's bars, each a tuple of tokens, from its first bar line (a pickup before it is
  left out; the last bar may be short)."""
  starts = np.flatnonzero(np.asarray(positions) == 0)
  return [tuple(bar) for bar in np.split(np.asarray(tokens), starts)[1:]] if len(starts) else []


def part_repetition(bars: Sequence[tuple], part_bars: int) -> float | None:
  """Share of the ``part_bars``-bar parts (one starting at every bar line from bar
  ``part_bars`` on) that repeat, exactly, a part that ended before they start. None: the tune
  is shorter than two parts."""
  parts = [tuple(bars[i:i + part_bars]) for i in range(len(bars) - part_bars + 1)]
  earlier, repeats = set(), 0
  for i in range(part_bars, len(parts)):
    earlier.add(parts[i - part_bars])
    repeats += parts[i] in earlier
  counted = len(parts) - part_bars
  return repeats / counted if counted > 0 else None


# Key scores that agree to this many decimals are a tie, which the first key (C major first)
# wins however the scores were summed.
TIE_DECIMALS = 9


# Every key's profile (C major to B major, then C minor to B minor), centred: a correlation
# with them is a dot product over norms.
KEY_PROFILES = np.stack([np.roll(profile, root) for profile in (model_inputs.MAJOR_PROFILE,
                                                                   model_inputs.MINOR_PROFILE)
                         for root in range(12)])
_CENTRED_PROFILES = KEY_PROFILES - KEY_PROFILES.mean(1, keepdims=True)


def tonics(counts: np.ndarray) -> np.ndarray:
  """(..., 12) pitch-class counts (or shares) -> the pitch class of each one's key
  (Krumhansl-Schmuckler: the major or minor key profile that correlates best with them; scale
  membership alone cannot tell a major key from its relative minor); -1 where nothing is
  counted."""
  centred = counts - counts.mean(-1, keepdims=True)
  with np.errstate(invalid='ignore', divide='ignore'):
    scores = (centred @ _CENTRED_PROFILES.T) / (
        np.linalg.norm(centred, axis=-1, keepdims=True) * np.linalg.norm(_CENTRED_PROFILES, axis=1))
  best = np.argmax(np.nan_to_num(np.round(scores, TIE_DECIMALS), nan=-np.inf), -1) % 12
  return np.where(np.any(counts, -1), best, -1)


def tonic(tokens: np.ndarray) -> int | None:
  """The pitch class of the tune's key (``tonics`` of its steps' pitch classes). None: no
  sounding step."""
  key = int(tonics(stats.pitch_class_histogram(np.asarray(tokens))))
  return None if key < 0 else key


def last_note(tokens: np.ndarray) -> tuple[int, int] | None:
  """The tune's last note: the step it starts at and its token. None: no sounding step."""
  tokens = np.asarray(tokens)
  sounding = np.flatnonzero(tokens != encoding.REST)
  if not len(sounding):
    return None
  last = first = sounding[-1]
  while first > 0 and tokens[first - 1] == tokens[last]:
    first -= 1
  return int(first), int(tokens[last])


def starts_early(meter: encoding.Meter, steps):
  """Whether a note starting at ``steps`` (a step's index, or an array of them) starts in the
  first half of its bar: on a downbeat, or as a long note of a bar."""
  return 2 * np.asarray(meter.positions, np.int64)[steps] < meter.bar_lengths[steps]


def ends_home(tokens: np.ndarray, meter: encoding.Meter) -> bool:
  """Whether the tune ends as tunes do: its last note on the tonic of its key, starting in
  the first half of its bar (on the final bar's downbeat, or a long last note of a bar)."""
  note = last_note(tokens)
  if note is None:
    return False
  first, token = note
  return (token - 1) % 12 == tonic(tokens) and bool(starts_early(meter, first))


def start_position(meter: encoding.Meter) -> int:
  """The bar position a tune starts at: its first step's; or, where its first bar is shorter
  than the next (a pickup written as a bar of its own, as ``sample``'s files and some others
  hold one, read as it is), where that bar would start in a whole one."""
  positions = np.asarray(meter.positions)
  bar_lines = np.flatnonzero(positions == 0)
  if positions[0] != 0 or len(bar_lines) < 2:
    return int(positions[0])
  pickup, whole = int(bar_lines[1]), int(meter.bar_lengths[bar_lines[1]])
  return whole - pickup if pickup < whole else 0


def completes_first_bar(meter: encoding.Meter) -> bool:
  """Whether the tune's last bar completes its first: it ends where a bar counted from its
  start position is whole (after a pickup, short of a bar line by the pickup)."""
  after_last = (int(meter.positions[-1]) + 1) % int(meter.bar_lengths[-1])
  return after_last == start_position(meter) % int(meter.bar_lengths[-1])


def home_after_each_step(tokens: np.ndarray, meter: encoding.Meter) -> np.ndarray:
  """For each step, whether the tune would end home (``ends_home``) if it ended after that
  step: ``ends_home`` of every prefix at once, each judged in the key of its own steps."""
  tokens = np.asarray(tokens)
  sounding = tokens != encoding.REST
  pitch_classes = (tokens.astype(np.int64) - 1) % 12
  # The key of every prefix: tonics of its running pitch-class counts.
  keys = tonics(np.cumsum(np.eye(12)[pitch_classes] * sounding[:, None], axis=0))
  last, first = model_inputs.last_notes(tokens, sounding)
  return (last >= 0) & (pitch_classes[np.maximum(last, 0)] == keys) & starts_early(meter, first)


def tune_features(tokens: np.ndarray, meter: encoding.Meter) -> dict:
  """The whole-tune statistics of one tune (``meter``: its steps' places in their bars)."""
  tokens = np.asarray(tokens)
  bars = bars_of(tokens, meter.positions)
  return {'steps': int(len(tokens)), 'bars': len(bars),
          'ends_home': ends_home(tokens, meter),
          'completes_first_bar': completes_first_bar(meter),
          'bar_repetition': stats.repeated_bars(bars),
          **{f'part_repetition_{k}': part_repetition(bars, k) for k in PART_BARS},
          'degenerate': stats.degeneration(tokens)}


def summary(features: Sequence[dict]) -> dict:
  """The figures of a set of tunes: median length, and means (over the tunes where each is
  defined) of the shares."""

  def mean(key):
    values = [f[key] for f in features if f[key] is not None]
    return float(np.mean(values)) if values else float('nan')

  return {'tunes': len(features),
          'median_steps': float(np.median([f['steps'] for f in features])),
          'quartile_steps': [float(q) for q in np.percentile([f['steps'] for f in features],
                                                             [25, 75])],
          'ends_home': mean('ends_home'),
          'completes_first_bar': mean('completes_first_bar'),
          'bar_repetition': mean('bar_repetition'),
          **{f'part_repetition_{k}': mean(f'part_repetition_{k}') for k in PART_BARS},
          'degenerate': float(np.mean([f['degenerate'] is not None for f in features]))}


# The summary's figures, as a report's table names them.
SUMMARY_LABELS = {
    'tunes': 'tunes', 'median_steps': 'median length (steps)',
    'quartile_steps': 'length quartiles (steps)',
    'ends_home': 'share ending on the tonic, early in a bar',
    'completes_first_bar': 'share whose last bar completes their first',
    'bar_repetition': 'bars that repeat an earlier bar',
    **{f'part_repetition_{k}': f'{k}-bar parts that repeat an earlier one' for k in PART_BARS},
    'degenerate': 'degenerate tunes'}


def formatted(summary_: dict, key: str) -> str:
  value = summary_[key]
  if key == 'quartile_steps':
    return f'{value[0]:.0f}-{value[1]:.0f}'
  return f'{value:.0f}' if key in ('tunes', 'median_steps') else f'{value:.3f}'
