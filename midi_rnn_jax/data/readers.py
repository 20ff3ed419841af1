"""MIDI files in: miditoolkit's reader made robust, and symusic's (about 9x faster), used
when it is installed (``pip install ".[fast]"``) and gives the very notes miditoolkit would.

Both give what ``encoding.encode_midi`` reads: ``ticks_per_beat``, ``time_signature_changes``
and ``instruments`` with ``is_drum``, ``notes``, ``program`` and ``name``.
"""

from __future__ import annotations

import collections
import dataclasses

import miditoolkit
import numpy as np

from midi_rnn_jax.data import encoding
from midi_rnn_jax.errors import UserError

try:
  import symusic
except ImportError:  # The optional fast reader.
  symusic = None

# Which reader parses (part of the parse cache's key: on damaged files the two can differ).
NAME = 'miditoolkit' if symusic is None else f'symusic {symusic.__version__}+miditoolkit'


def unreadable(path: str, error: Exception) -> UserError:
  details = str(error).strip().splitlines()[0] if str(error).strip() else ''
  if not details:  # mido raises a bare EOFError on a file cut short.
    details = 'the file ends early' if isinstance(error, EOFError) else 'no details given'
  return UserError(f'unreadable MIDI file {path}: {type(error).__name__}: {details}')


def _without_zero_length_notes(events: list) -> list:
  """``events`` (one track, absolute ticks) less each zero-length note: a note-off with no
  note of its pitch sounding, then a note-on of that pitch at the same tick (how miditoolkit
  writes a note whose end is its start). Paired first-in first-out as miditoolkit pairs
  them, that note-on would hold until the next note-off of its pitch, overlapping the notes
  between and making a monophonic track look polyphonic."""
  sounding, dropped = collections.Counter(), set()
  for i, event in enumerate(events):
    if event.type not in ('note_on', 'note_off') or i in dropped:
      continue
    key = (event.channel, event.note)
    if event.type == 'note_on' and event.velocity > 0:
      sounding[key] += 1
    elif sounding[key]:
      sounding[key] -= 1
    else:
      for j in range(i + 1, len(events)):
        later = events[j]
        if later.time != event.time:
          break
        if (later.type == 'note_on' and later.velocity > 0 and j not in dropped
            and (later.channel, later.note) == key):
          dropped.update((i, j))
          break
  return [event for i, event in enumerate(events) if i not in dropped]


class _MidiReader(miditoolkit.MidiFile):
  """miditoolkit's reader, with zero-length notes removed before notes are paired."""

  @staticmethod
  def _convert_delta_to_cumulative(mido_obj):
    miditoolkit.MidiFile._convert_delta_to_cumulative(mido_obj)  # pylint: disable=protected-access
    for track in mido_obj.tracks:
      track[:] = _without_zero_length_notes(track)


def read_midi(path: str):
  """Parses one MIDI file (with symusic when it is installed and sure of the notes);
  a UserError naming the file when it is unreadable."""
  if symusic is not None:
    midi = _read_with_symusic(path)
    if midi is not None:
      return midi
  return read_with_miditoolkit(path)


def read_with_miditoolkit(path: str) -> miditoolkit.MidiFile:
  """The whole file as miditoolkit reads it (markers too), robustly; a UserError naming the
  file when it is unreadable."""
  try:
    return _MidiReader(path, clip=True)  # clip: a data byte over 127 is clipped, not fatal.
  except Exception as error:  # Files in the wild fail in every way mido can.
    raise unreadable(path, error) from None


@dataclasses.dataclass(frozen=True)
class _Instrument:
  is_drum: bool
  notes: encoding.NoteArrays
  program: int
  name: str


@dataclasses.dataclass(frozen=True)
class _Midi:
  ticks_per_beat: int
  time_signature_changes: list
  instruments: list[_Instrument]


def _read_with_symusic(path: str) -> _Midi | None:
  """The file as symusic reads it, or None where its notes might differ from miditoolkit's:
  a file it cannot read (miditoolkit then gives the reason, or reads it), and a track where
  two notes of one pitch overlap or one has no length (the readers pair such note-ons and
  note-offs differently)."""
  try:
    score = symusic.Score(path)
  except Exception:  # pylint: disable=broad-except
    return None
  instruments = []
  for track in score.tracks:
    arrays = track.notes.numpy()
    start = arrays['time'].astype(np.int64)
    end = start + arrays['duration'].astype(np.int64)
    pitch = arrays['pitch'].astype(np.int64)
    if _pairing_is_ambiguous(start, end, pitch):
      return None
    instruments.append(_Instrument(bool(track.is_drum), encoding.NoteArrays(start, end, pitch),
                                   int(track.program), str(track.name)))
  return _Midi(score.ticks_per_quarter, list(score.time_signatures), instruments)


def _pairing_is_ambiguous(start: np.ndarray, end: np.ndarray, pitch: np.ndarray) -> bool:
  if (end <= start).any():
    return True
  order = np.lexsort((start, pitch))
  same_pitch = pitch[order][1:] == pitch[order][:-1]
  return bool((same_pitch & (start[order][1:] < end[order][:-1])).any())
