"""What a melody starts from: notes written by hand (``--primer_notes``), or windows of
tracks, with their bar positions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from midi_rnn_jax.data import encoding, model_inputs, slicing
from midi_rnn_jax.data.model_inputs import TUNE_END
from midi_rnn_jax.errors import UserError
from midi_rnn_jax.model import modes

# A primer or a file longer than this (3.5 hours of 16ths at 120 BPM) is a typo, not a melody,
# and would fill the memory or take hours.
MAX_STEPS = 100_000


NOTE_NAME = re.compile(r'([A-Ga-g])([#b]?)(-?\d+)')


PITCH_CLASSES = {'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}


def parse_pitch(text: str) -> int | None:
  """A MIDI pitch from ``"60"`` or a scientific note name (``"C4"`` = 60, ``"F#4"``,
  ``"Bb3"``); None when it is neither or falls outside 0-127."""
  if (name := NOTE_NAME.fullmatch(text)):
    letter, accidental, octave = name.groups()
    pitch = ((int(octave) + 1) * 12 + PITCH_CLASSES[letter.upper()]
             + {'#': 1, 'b': -1, '': 0}[accidental])
  elif text.isdigit():
    pitch = int(text)
  else:
    return None
  return pitch if 0 <= pitch <= 127 else None


def parse_primer(text: str) -> np.ndarray:
  """``"60,D4,F#4:2,_,Bb3"`` -> tokens: MIDI pitches or note names and ``_`` rests, one
  step each unless ``:N`` gives a number of steps; at most MAX_STEPS in all."""
  tokens = []
  for item in text.split(','):
    value, _, steps = item.strip().partition(':')
    pitch = None if value == '_' else parse_pitch(value)
    count = int(steps) if steps.isdigit() else 0 if steps else 1
    if (value != '_' and pitch is None) or count < 1:
      raise UserError(f'--primer_notes: {item.strip()!r} is not a pitch (0-127 or a note name '
                      'such as C4, F#4, Bb3) or _ (a rest), optionally followed by :steps')
    tokens.append((encoding.REST if pitch is None else pitch + 1, count))
  total = sum(count for _, count in tokens)
  if total > MAX_STEPS:
    raise UserError(f'--primer_notes spans {total} steps; at most {MAX_STEPS} are allowed')
  return np.repeat(np.array([t for t, _ in tokens], np.uint8), [c for _, c in tokens])


class Primer(NamedTuple):
  """What a melody starts from: tokens, their bar positions, and the bar length and beat unit
  (time signature denominator) where it ends, which the melody goes on in."""
  tokens: np.ndarray  # uint8 (steps,)
  positions: np.ndarray  # uint8 (steps,)
  bar_length: int
  beat_unit: int = 4


def primer_on_downbeat(tokens: np.ndarray, bar_length: int) -> Primer:
  """A hand-written primer, taken to start on a bar line."""
  return Primer(tokens, encoding.Meter.on_downbeat(len(tokens), bar_length).positions,
                bar_length)


def prime_window(primer: Primer, window_size: int) -> Primer:
  """The last ``window_size`` steps of a primer, left-padded with rests when shorter (their
  bar positions counted back)."""
  tokens, positions = primer.tokens[-window_size:], primer.positions[-window_size:]
  padding = window_size - len(tokens)
  before = (int(positions[0]) - padding + np.arange(padding)) % primer.bar_length
  return primer._replace(tokens=np.concatenate([np.full(padding, encoding.REST, np.uint8), tokens]),
                         positions=np.concatenate([before, positions]).astype(np.uint8))


def prime_for(mode: modes.Mode, primer: Primer, window_size: int) -> Primer:
  """What a mode's sampler reads before it generates: the window mode's last ``window_size``
  steps (rests in front when shorter); the sequence mode reads the whole primer."""
  return primer if mode.carries_state else prime_window(primer, window_size)


def choose_primes(tracks: Sequence[np.ndarray], meters: Sequence[encoding.Meter], count: int,
                  window_size: int, rng: np.random.Generator) -> list[Primer]:
  """``count`` windows drawn uniformly from all windows of ``tracks`` (with their meters)."""
  # A prime needs no target after it, so any start up to len - window_size works.
  starts = slicing.window_starts([len(t) + 1 for t in tracks], window_size)
  flat = np.concatenate([np.append(t, encoding.REST) for t in tracks])
  positions = np.concatenate([np.append(m.positions, 0) for m in meters])
  bar_lengths = np.concatenate([np.append(m.bar_lengths, 1) for m in meters])
  beat_units = np.concatenate([np.append(m.beat_units, 4) for m in meters])
  chosen = rng.choice(starts, count)[:, None] + np.arange(window_size)
  return [Primer(flat[i], positions[i], int(bar_lengths[i[-1]]), int(beat_units[i[-1]]))
          for i in chosen]


def openings(tracks: Sequence[np.ndarray], meters: Sequence[encoding.Meter], count: int,
             steps: int, rng: np.random.Generator) -> list[Primer]:
  """The first ``steps`` steps of ``count`` tracks drawn at random (among those as long): how
  tunes open, the primers of a model with tune ends."""
  long_enough = [i for i, track in enumerate(tracks) if len(track) >= steps]
  return [Primer(tracks[i][:steps], meters[i].positions[:steps],
                 int(meters[i].bar_lengths[steps - 1]), int(meters[i].beat_units[steps - 1]))
          for i in rng.choice(long_enough, count)]


def as_tune_opening(primer: Primer, steps: int | None = None) -> Primer:
  """The first ``steps`` (all by default; 0: none, only where the primer starts) of a primer,
  as a model with tune ends reads them: after the TUNE_END mark that every tune starts with,
  one step before the primer's first step (so a tune may open with a pickup)."""
  steps = len(primer.tokens) if steps is None else steps
  tokens, positions = model_inputs.tune_start(primer.tokens[:steps], primer.positions[:steps],
                                              int(primer.positions[0]), primer.bar_length)
  return primer._replace(tokens=tokens, positions=positions)


def tune_length(tokens: np.ndarray) -> int | None:
  """Where the first TUNE_END is in sampled ``tokens`` (the tune's length), None if none."""
  ends = np.flatnonzero(np.asarray(tokens) == TUNE_END)
  return int(ends[0]) if len(ends) else None


def stack_primes(primers: Sequence[Primer], num_steps: int) -> tuple[np.ndarray, np.ndarray]:
  """(tokens (batch, primer steps), bar positions (batch, primer steps + num_steps)) of
  primers of one length: a sampler's ``primes`` and ``bar_positions``, counting on after
  each primer in bars of its last bar length."""
  tokens = np.stack([p.tokens for p in primers])
  positions = np.stack([p.positions for p in primers]).astype(np.int64)
  following = positions[:, -1:] + 1 + np.arange(num_steps)
  bar_lengths = np.array([p.bar_length for p in primers])[:, None]
  return tokens, np.concatenate([positions, following % bar_lengths], axis=1).astype(np.uint8)
