"""Which tracks of a MIDI file are read (``--tracks``): every one, the melody judged from the
notes alone, or those a user names by program or name.

- ``all``: every track that gives a line (the original's rule).
- ``melody``: in each file, the track most likely to carry the melody, judged from its line:
  register, how much of the piece it sounds in, how many chord notes it had, how far it moves
  from note to note. None in a file
  that holds only a bass line or an accompaniment. Track names are not read.
- ``program:0-7,name:lead``: the tracks matching any of the comma-separated selectors: a
  General MIDI program (0-127) or range of them, or a text found in the track name (any case).

Pure: it runs in the parse workers.
"""

from __future__ import annotations

import re

import numpy as np

ALL = 'all'
MELODY = 'melody'
_SELECTOR = re.compile(r'(program):(\d+)(?:-(\d+))?$|(name):(.+)$')


def _selectors(value: str) -> list[re.Match | None]:
  """Each comma-separated selector of ``value`` parsed (None where one is not a selector)."""
  return [_SELECTOR.match(part.strip()) for part in value.split(',')]


def check(value: str) -> str | None:
  """Why ``value`` is not a --tracks value, or None when it is one."""
  if value in (ALL, MELODY):
    return None
  for part, match in zip(value.split(','), _selectors(value)):
    if match is None:
      return (f'--tracks: {part.strip()!r} is not all, melody, program:N, program:N-M or '
              'name:TEXT')
    if match[1] and not int(match[2]) <= int(match[3] or match[2]) <= 127:
      return f'--tracks: {part.strip()!r} is not a program (0-127) or a range of them'
  return None


def _matches(selectors: list[re.Match], program: int, name: str) -> bool:
  return any((match[1] and int(match[2]) <= program <= int(match[3] or match[2]))
             or (match[4] and match[5].strip().lower() in (name or '').lower())
             for match in selectors)


def selected(tracks: str, instruments) -> set[int]:
  """Numbers (from 1) of the instruments that ``tracks`` reads before any line is judged:
  all of them for ``all`` and ``melody``, the matching ones for selectors."""
  if tracks in (ALL, MELODY):
    return set(range(1, len(instruments) + 1))
  selectors = _selectors(tracks)
  return {number for number, instrument in enumerate(instruments, start=1)
          if _matches(selectors, instrument.program, instrument.name)}


# A melody's median pitch is at least this (E3): bass lines sit lower (docs/reading.md).
LOWEST_MELODY_MEDIAN = 52
# An accompaniment's top line moves by wider steps on average (semitones; pop909-dev's
# accompaniments 8.6 at the median and 5.7 at the 1st percentile, its melodies 2.9, folk tunes
# 2.8) and stays below the melody it accompanies (median pitch 61, under 70 in 96% of them). A
# line that moves as widely is a melody only up there: a piano piece's right hand. Chords
# alone do not tell: a piano piece has its melody on top of them.
LARGEST_MEAN_INTERVAL = 6.0
LOWEST_LEAPING_MELODY_MEDIAN = 70


# The melody track scores highest: it sounds through more of the piece, with fewer chords,
# smaller steps and fewer leaps (weights chosen on half of pop909-dev, docs/reading.md).
SCORE_WEIGHTS = {'sounding': 1.0, 'chord_notes': -8.0, 'mean_interval': -0.1, 'leaps': -2.0}


def line_features(tokens: np.ndarray, notes: int, notes_dropped: int, span: int
                  ) -> dict[str, float]:
  """What tells a melody from a bass line or an accompaniment, from one track's line:
  its median pitch, the share of the file's ``span`` steps it sounds in, the share of its
  notes that were under a chord's top, and the mean size and share of leaps (over a fifth)
  between its successive pitches."""
  tokens = np.asarray(tokens, np.int64)
  pitches = tokens[tokens > 0] - 1
  onsets = tokens[np.flatnonzero(np.diff(tokens, prepend=-1))]
  intervals = np.abs(np.diff(onsets[onsets > 0]))
  return {'median_pitch': float(np.median(pitches)) if len(pitches) else 0.0,
          'sounding': len(pitches) / max(span, 1),
          'chord_notes': notes_dropped / max(notes + notes_dropped, 1),
          'mean_interval': float(intervals.mean()) if len(intervals) else 0.0,
          'leaps': float(np.mean(intervals > 7)) if len(intervals) else 0.0}


def could_be_melody(features: dict[str, float]) -> bool:
  return (features['median_pitch'] >= LOWEST_MELODY_MEDIAN
          and (features['mean_interval'] <= LARGEST_MEAN_INTERVAL
               or features['median_pitch'] >= LOWEST_LEAPING_MELODY_MEDIAN))


def melody_score(features: dict[str, float]) -> float:
  return sum(weight * features[name] for name, weight in SCORE_WEIGHTS.items())


def melody_tracks(encodings) -> set[int]:
  """The number of the one track of a file (``encoding.TrackEncoding``s) most likely to carry
  its melody, or none when no track could be one."""
  if not encodings:
    return set()
  span = (max(e.first_step + len(e.tokens) for e in encodings)
          - min(e.first_step for e in encodings))
  candidates = []
  for encoding in encodings:
    features = line_features(encoding.tokens, encoding.num_notes, encoding.notes_dropped, span)
    if could_be_melody(features):
      candidates.append((melody_score(features), -encoding.track, encoding.track))
  return {max(candidates)[2]} if candidates else set()
