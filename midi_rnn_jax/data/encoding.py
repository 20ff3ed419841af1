"""Pure functions between MIDI notes and token arrays.

Token layout (as in the original midi-rnn): one token per grid step (a 16th
note by default), 129 classes, ``0`` = rest and ``p + 1`` = MIDI pitch ``p``. A
held note repeats its pitch token on every step it sounds.

Grid rule: a step lasts ``ticks_per_beat / steps_per_quarter`` ticks (tempo
relative, so tempo changes do not move it). Each step takes the pitch that
sounds for the largest part of that step; a pitch must sound for at least a
quarter of the step (a 64th note on the 16th grid) to count, so an onset a few
ticks early or a legato tail a few ticks late does not smear into a
neighbouring step. Ties go to the note that started first. A step where no pitch
counts is a rest.

Tokens -> MIDI is ``melody_file``; the model's other per-step inputs are ``model_inputs``.
This module imports no JAX: it runs in the parsing worker processes.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from midi_rnn_jax.data import melody_lines, track_choice

# Bump when anything below changes the tokens a MIDI file encodes to: it keys
# the parse cache and is stored with every experiment.
ENCODING_VERSION = 1
# Bump when the reading rules (melody_lines, track_choice) read a file differently: it keys the
# parse cache with the ReadingRules.
READING_VERSION = 1
NUM_CLASSES = 129
REST = 0
STEPS_PER_QUARTER = 4  # The default grid: 16th notes.
ALLOWED_STEPS_PER_QUARTER = (2, 3, 4, 6, 8)
# A pitch covering less than this fraction of a step does not count in it.
MIN_COVERAGE = 0.25
# Bar positions are told apart up to this many steps (a 4/4 bar of 32nd notes is 32).
MAX_BAR_STEPS = 64
# A track spanning more steps (65,536 bars) is broken data, not music: skipped
# before it can allocate gigabytes.
MAX_TRACK_STEPS = 1 << 20


@dataclasses.dataclass(frozen=True)
class ReadingRules:
  """How a MIDI file becomes melody lines: the grid, what a track with chords becomes
  (``melody_lines.POLYPHONY``) and which tracks are read (``track_choice``). Part of the parse
  cache's key and of every experiment's config."""
  steps_per_quarter: int = STEPS_PER_QUARTER
  polyphony: str = 'skip'
  tracks: str = 'all'

  @classmethod
  def of_config(cls, config: dict) -> 'ReadingRules':
    """The rules an experiment was trained with (experiments from before these flags: the
    defaults)."""
    return cls(config['steps_per_quarter'], config.get('polyphony', cls.polyphony),
               config.get('tracks', cls.tracks))

  def key(self) -> str:
    return f'{self.steps_per_quarter}|{self.polyphony}|{self.tracks}|{READING_VERSION}'


class Meter(NamedTuple):
  """Per step of a track: its index in its bar, its bar's length in steps, and the beat unit
  of its time signature (its denominator: 8 in 6/8), so the meter can be written back as the
  file had it."""
  positions: np.ndarray  # uint8
  bar_lengths: np.ndarray  # uint8
  beat_units: np.ndarray  # uint8

  @classmethod
  def on_downbeat(cls, steps: int, bar_length: int, beat_unit: int = 4) -> 'Meter':
    """A track that starts on a bar line and keeps one bar length (a hand-written primer)."""
    return cls((np.arange(steps) % bar_length).astype(np.uint8),
               np.full(steps, bar_length, np.uint8), np.full(steps, beat_unit, np.uint8))


@dataclasses.dataclass(frozen=True)
class TrackEncoding:
  """Tokens of one usable track, where its steps fall in their bars, and what the grid cost."""
  tokens: np.ndarray  # uint8, (steps,)
  num_notes: int
  notes_lost: int  # notes that win no step on the grid (slivers inside a sounding note too)
  positions: np.ndarray  # uint8, (steps,): each step's index in its bar
  bar_lengths: np.ndarray  # uint8, (steps,): the steps of each step's bar
  beat_units: np.ndarray  # uint8, (steps,): the denominator of each step's time signature
  track: int = 1  # its number among the file's tracks (instruments), from 1
  notes_cut: int = 0  # notes ended early to make one line (legato, a held note under a line)
  notes_dropped: int = 0  # notes left out of the line (under a chord's top, or a held note)
  first_step: int = 0  # the grid step (from the file's start) of the first token


class NoteArrays(NamedTuple):
  """A track's notes as arrays (what a fast reader gives), in place of a list of notes."""
  start: np.ndarray
  end: np.ndarray
  pitch: np.ndarray


def note_arrays(notes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(start, end, pitch) int64 arrays of the valid notes (a list of miditoolkit notes, or
  NoteArrays), sorted by onset, then end, then pitch."""
  if not isinstance(notes, NoteArrays):
    notes = NoteArrays(*(np.array([getattr(n, field) for n in notes], np.int64).reshape(-1)
                         for field in NoteArrays._fields))
  start, end, pitch = (np.asarray(a, np.int64) for a in notes)
  valid = (end > start) & (pitch >= 0) & (pitch <= 127)
  start, end, pitch = start[valid], end[valid], pitch[valid]
  order = np.lexsort((pitch, end, start))
  return start[order], end[order], pitch[order]


def ragged_arange(lengths: np.ndarray) -> np.ndarray:
  """Concatenated ``arange(n)`` for each n in ``lengths``, without a Python loop."""
  lengths = np.asarray(lengths, dtype=np.int64)
  return np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def quantize(start: np.ndarray, end: np.ndarray, pitch: np.ndarray,
             ticks_per_step: float) -> tuple[np.ndarray, int, int]:
  """Notes (sorted by onset) to trimmed step tokens, the number of notes lost, and the grid
  step (counted from tick 0) of the first token."""
  if len(start) == 0:
    return np.zeros(0, np.uint8), 0, 0
  first_step = np.floor(start / ticks_per_step).astype(np.int64)
  last_step = np.ceil(end / ticks_per_step).astype(np.int64) - 1
  steps_per_note = last_step - first_step + 1
  # One row per (note, step it touches).
  note_index = np.repeat(np.arange(len(start)), steps_per_note)
  step = first_step[note_index] + ragged_arange(steps_per_note)
  coverage = (np.minimum(end[note_index], (step + 1) * ticks_per_step) -
              np.maximum(start[note_index], step * ticks_per_step))
  counts = coverage >= MIN_COVERAGE * ticks_per_step
  note_index, step, coverage = note_index[counts], step[counts], coverage[counts]
  # Per step: largest coverage first, then earliest note (notes are sorted by onset).
  order = np.lexsort((note_index, -coverage, step))
  step, note_index = step[order], note_index[order]
  winner = np.ones(len(step), bool)
  winner[1:] = step[1:] != step[:-1]
  step, note_index = step[winner], note_index[winner]
  if len(step) == 0:
    return np.zeros(0, np.uint8), len(start), 0
  tokens = np.full(step[-1] - step[0] + 1, REST, np.uint8)
  tokens[step - step[0]] = pitch[note_index] + 1
  notes_lost = len(start) - len(np.unique(note_index))
  return tokens, notes_lost, int(step[0])


def bar_positions(first_step: int, length: int, time_signatures, ticks_per_beat: int,
                  steps_per_quarter: int = STEPS_PER_QUARTER) -> Meter:
  """The Meter (index of each step in its bar, steps in that bar, the time signature's beat
  unit) of ``length`` grid steps from
  ``first_step``. Bars follow the MIDI time signatures (``(tick, numerator, denominator)``;
  4/4 where there is none), each starting a bar where it changes; a pickup is the end of a
  bar. Positions stop at MAX_BAR_STEPS - 1 in longer bars."""
  ticks_per_step = ticks_per_beat / steps_per_quarter
  changes = sorted((t, n, d) for t, n, d in time_signatures if n > 0 and d > 0)
  if not changes or changes[0][0] > 0:
    changes.insert(0, (0, 4, 4))
  change_steps = np.array([round(t / ticks_per_step) for t, _, _ in changes])
  lengths = np.array([max(1, round(n * 4 / d * steps_per_quarter)) for _, n, d in changes])
  steps = first_step + np.arange(length)
  segment = np.searchsorted(change_steps, steps, side='right') - 1
  positions = (steps - change_steps[segment]) % lengths[segment]
  beat_units = np.array([d for _, _, d in changes])[segment]
  return Meter(np.minimum(positions, MAX_BAR_STEPS - 1).astype(np.uint8),
               np.minimum(lengths[segment], MAX_BAR_STEPS).astype(np.uint8),
               np.minimum(beat_units, 255).astype(np.uint8))


def encode_track(notes, ticks_per_beat: int, rules: ReadingRules = ReadingRules(),
                 time_signatures=()) -> TrackEncoding | str:
  """Encodes one instrument's notes as one melody line (``melody_lines``), or says why the
  track cannot be used. ``time_signatures``: the file's ``(tick, numerator, denominator)``
  changes."""
  start, end, pitch = note_arrays(notes)
  ticks_per_step = ticks_per_beat / rules.steps_per_quarter
  if len(start) and (end.max() - start.min()) / ticks_per_step > MAX_TRACK_STEPS:
    return 'too_long'
  line = melody_lines.melody_line(start, end, pitch, ticks_per_step,
                                  melody_lines.SLOP_BEATS * ticks_per_beat, MIN_COVERAGE,
                                  rules.polyphony)
  if isinstance(line, str):
    return line
  tokens, notes_lost, first_step = quantize(line.start, line.end, line.pitch, ticks_per_step)
  meter = bar_positions(first_step, len(tokens), time_signatures, ticks_per_beat,
                        rules.steps_per_quarter)
  return TrackEncoding(tokens, len(line.start) + line.slivers, notes_lost + line.slivers,
                       *meter,
                       notes_cut=line.notes_cut, notes_dropped=line.notes_dropped,
                       first_step=first_step)


# Why a track gives no melody line; 'not_chosen': left out by --tracks.
SKIP_REASONS = ('drum', 'polyphonic', 'too_long', 'empty', 'not_chosen')


def encode_midi(midi, rules: ReadingRules = ReadingRules()
                ) -> tuple[list[TrackEncoding], dict[str, list[int]]]:
  """Encodes the tracks of a parsed MIDI file that ``rules`` read, one melody line each.

  Returns the encodings and, for each of SKIP_REASONS, the numbers of the tracks skipped
  for it (tracks are numbered from 1 in the file's order).
  """
  if midi.ticks_per_beat <= 0:
    raise ValueError(f'ticks per beat is {midi.ticks_per_beat}')
  encodings, skipped = [], {reason: [] for reason in SKIP_REASONS}
  meters = [(ts.time, ts.numerator, ts.denominator) for ts in midi.time_signature_changes]
  selected = track_choice.selected(rules.tracks, midi.instruments)
  for number, instrument in enumerate(midi.instruments, start=1):
    encoding = ('drum' if instrument.is_drum else 'not_chosen' if number not in selected else
                encode_track(instrument.notes, midi.ticks_per_beat, rules, meters))
    if isinstance(encoding, str):
      skipped[encoding].append(number)
    elif len(encoding.tokens) == 0:
      skipped['empty'].append(number)
    else:
      encodings.append(dataclasses.replace(encoding, track=number))
  if rules.tracks == track_choice.MELODY:
    chosen = track_choice.melody_tracks(encodings)
    skipped['not_chosen'] += [e.track for e in encodings if e.track not in chosen]
    skipped['not_chosen'].sort()
    encodings = [e for e in encodings if e.track in chosen]
  return encodings, skipped


def one_hot(tokens: np.ndarray) -> np.ndarray:
  """(..., ) integer tokens -> (..., 129) float32 one-hot rows."""
  return np.eye(NUM_CLASSES, dtype=np.float32)[np.asarray(tokens)]


def notes(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(pitch, length in steps) of each note: each run of one pitch token is one note."""
  tokens = np.asarray(tokens, np.int64)
  starts = np.flatnonzero(np.diff(tokens, prepend=-1))
  lengths = np.diff(np.append(starts, len(tokens)))
  sounding = tokens[starts] != REST
  return tokens[starts][sounding] - 1, lengths[sounding]
