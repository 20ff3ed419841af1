"""One melody line from a track's notes, and which tracks of a file carry the melody.

The rules (measured on real files: docs/reading.md):
- Legato is not polyphony: a note still sounding when a later note starts, on a later grid
  step, ends there, as a singer's would. Overlaps up to SLOP_BEATS are timing noise that the
  grid's coverage rule absorbs; a track with no longer overlap is read as before, note for note.
- A chord is notes that start on the same grid step and sound together. ``skip`` leaves a track
  with a chord out (the original's rule); ``top`` keeps the highest note of each chord.
- A held note (sounding until a later note has ended, or longer: a pedal, or a long melody note
  over a moving accompaniment). ``skip`` reads a track without chords as one voice: the held
  note ends where the next note starts, like a legato one. ``top`` keeps the upper voice: a held
  note over a lower line goes on and the line under it is dropped, a held note under a higher
  line ends where that line starts (HELD_RULE 'voice'; docs/reading.md measures it against
  'cut', ending every held note like a legato one).

Pure numpy: it runs in the parse workers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

POLYPHONY = ('skip', 'top')
# Notes overlapping for less than a 64th note (this fraction of a beat) are legato slop.
SLOP_BEATS = 1 / 16
# How ``top`` reads a held note: 'voice' (a second voice, as above) or 'cut' (ended by the next
# note like a legato one). docs/reading.md measures both.
HELD_RULES = ('voice', 'cut')
HELD_RULE = 'voice'


class Line(NamedTuple):
  """A track's notes reduced to one line, and what the reduction did."""
  start: np.ndarray
  end: np.ndarray
  pitch: np.ndarray
  notes_cut: int  # notes ended early (legato, or a held note under a higher line)
  notes_dropped: int  # chord notes below the top one, and notes under a held higher note
  slivers: int  # notes no longer than the slop inside a sounding note: left out, as the grid would


def onset_steps(start: np.ndarray, ticks_per_step: float, min_coverage: float) -> np.ndarray:
  """The grid step where each note first counts: a note starting in the last
  ``1 - min_coverage`` of a step counts from the next one (as the quantizer has it)."""
  return np.floor(start / ticks_per_step + min_coverage).astype(np.int64)


def has_overlap(start: np.ndarray, end: np.ndarray, tolerance: float) -> bool:
  """True when two notes sound together for longer than ``tolerance`` ticks (``start`` sorted).

  Judged in MIDI ticks, before quantization, so fast runs that put two onsets inside one grid
  step are not an overlap."""
  if len(start) < 2:
    return False
  latest_end_before = np.maximum.accumulate(end)[:-1]
  return bool(np.any(np.minimum(latest_end_before, end[1:]) - start[1:] > tolerance))


def melody_line(start: np.ndarray, end: np.ndarray, pitch: np.ndarray, ticks_per_step: float,
                slop: float, min_coverage: float, polyphony: str,
                held_rule: str | None = None) -> Line | str:
  """The line of one track's notes (sorted by onset), or 'polyphonic' where ``polyphony`` is
  'skip' and the track has a chord. ``held_rule`` (for ``top``): HELD_RULE when None."""
  held_rule = held_rule or HELD_RULE
  if not has_overlap(start, end, slop):
    return Line(start, end, pitch, 0, 0, 0)
  onset = onset_steps(start, ticks_per_step, min_coverage)
  kept: list[int] = []
  ends = end.copy()
  cut, dropped, slivers = set(), 0, 0
  for note in range(len(start)):
    last = kept[-1] if kept else None
    if last is None or min(ends[last], end[note]) - start[note] <= slop:  # No real overlap.
      if last is not None and end[note] <= ends[last]:  # A sliver inside the sounding note.
        slivers += 1
      else:
        kept.append(note)
      continue
    same_step = onset[note] == onset[last]
    if same_step and polyphony == 'skip':
      return 'polyphonic'
    # A note held as long as this one or longer: under 'top', a second voice.
    held = (not same_step and polyphony == 'top' and held_rule == 'voice'
            and ends[last] >= end[note] - slop)
    if same_step or (held and pitch[last] > pitch[note]):  # Two voices: the upper one goes on.
      dropped += 1
      if same_step and pitch[note] > pitch[last]:  # This is the chord's top note.
        kept[-1] = note
      continue
    ends[last] = start[note]  # Legato, or a held note under a higher line: it ends here.
    cut.add(last)
    kept.append(note)
  kept_index = np.array(kept, np.int64)
  return Line(start[kept_index], ends[kept_index], pitch[kept_index],
              len(cut.intersection(kept)), dropped, slivers)
