"""The reading rules on hand-built tracks: legato, chords, held notes, fast runs."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import build_midi
from midi_rnn_jax.data import encoding, melody_lines

TOP = encoding.ReadingRules(polyphony='top')


def read(notes, rules=encoding.ReadingRules()):
  """One track of ``(pitch, start, end)`` notes (480 ticks per beat: 120 a step), encoded."""
  return encoding.encode_track(build_midi([(notes, False)]).instruments[0].notes, 480, rules)


@pytest.mark.parametrize('rules', [encoding.ReadingRules(), TOP])
def test_legato_overlap_ends_the_earlier_note_where_the_next_starts(rules):
  # Each note sounds into the next (60 and 80 ticks): as a singer would, it ends there.
  track = read([(60, 0, 300), (62, 240, 560), (64, 480, 720)], rules)
  assert track.tokens.tolist() == [61, 61, 63, 63, 65, 65]
  assert (track.notes_cut, track.notes_dropped) == (2, 0)


def test_overlap_within_the_slop_is_left_to_the_grid():
  # 20 ticks of overlap (under a 64th note, 30 ticks): nothing is cut, the grid decides.
  track = read([(60, 0, 260), (62, 240, 480)])
  assert track.tokens.tolist() == [61, 61, 63, 63]
  assert track.notes_cut == 0


def test_a_chord_on_one_step_is_skipped_or_gives_its_top_note():
  chord = [(60, 0, 480), (64, 0, 480), (67, 5, 480), (69, 480, 960)]  # 67 a few ticks late.
  assert read(chord) == 'polyphonic'
  track = read(chord, TOP)
  assert track.tokens.tolist() == [68] * 4 + [70] * 4
  assert (track.num_notes, track.notes_dropped) == (2, 2)


@pytest.mark.parametrize('rules', [encoding.ReadingRules(), TOP])
def test_a_pedal_under_a_line_ends_where_the_line_starts(rules):
  pedal_and_line = [(48, 0, 1920), (72, 240, 480), (74, 480, 720), (76, 720, 960)]
  track = read(pedal_and_line, rules)
  assert track.tokens.tolist() == [49, 49, 73, 73, 75, 75, 77, 77]
  assert (track.notes_cut, track.notes_dropped) == (1, 0)


def test_a_held_note_over_a_lower_line_goes_on_and_the_line_under_it_is_dropped():
  held_and_line = [(84, 0, 1920), (60, 480, 720), (62, 720, 960), (86, 1920, 2400)]
  track = read(held_and_line, TOP)
  assert track.tokens.tolist() == [85] * 16 + [87] * 4
  assert (track.notes_cut, track.notes_dropped) == (0, 2)
  # The rule measured against it: every held note ends like a legato one.
  start, end, pitch = encoding.note_arrays(build_midi([(held_and_line, False)])
                                           .instruments[0].notes)
  line = melody_lines.melody_line(start, end, pitch, 120, 30, encoding.MIN_COVERAGE, 'top',
                                  held_rule='cut')
  assert line.end.tolist() == [480, 720, 960, 2400] and line.notes_cut == 1
  # --polyphony skip reads a track without chords as one voice: the held note is cut too.
  assert read(held_and_line).tokens.tolist() == [85] * 4 + [61, 61, 63, 63] + [0] * 8 + [87] * 4


def test_a_note_ending_with_a_shorter_lower_note_inside_it_is_held_over_it():
  # An inner voice's 8th note under a melody's quarter, both ending on the beat.
  track = read([(76, 0, 480), (67, 240, 480), (77, 480, 960)], TOP)
  assert track.tokens.tolist() == [77] * 4 + [78] * 4


def test_a_fast_run_inside_one_step_is_a_line_not_a_chord():
  run = [(70, 0, 60), (72, 60, 120), (74, 120, 240)]
  assert read(run).tokens.tolist() == read(run, TOP).tokens.tolist() == [71, 75]


notes_strategy = st.lists(st.tuples(st.integers(40, 90), st.integers(0, 4000), st.integers(1, 1500)),
                          min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(notes_strategy, st.sampled_from(melody_lines.POLYPHONY),
       st.sampled_from(melody_lines.HELD_RULES))
def test_a_line_is_one_voice_made_of_the_tracks_notes(notes, polyphony, held_rule):
  start, end, pitch = encoding.note_arrays(encoding.NoteArrays(
      *map(np.array, zip(*[(s, s + length, p) for p, s, length in notes]))))
  line = melody_lines.melody_line(start, end, pitch, 120, 30, encoding.MIN_COVERAGE, polyphony,
                                  held_rule)
  if line == 'polyphonic':  # Only a chord makes a track polyphonic under skip.
    assert polyphony == 'skip'
    onset = melody_lines.onset_steps(start, 120, encoding.MIN_COVERAGE)
    assert any(onset[i] == onset[j] and min(end[i], end[j]) - max(start[i], start[j]) > 30
               for i in range(len(start)) for j in range(i))
    return
  assert not melody_lines.has_overlap(line.start, line.end, 30)
  originals = {(s, p): e for s, e, p in zip(start, end, pitch)}
  assert all(originals[(s, p)] >= e > s for s, e, p in zip(line.start, line.end, line.pitch))
  assert line.notes_dropped + line.slivers == len(start) - len(line.start)
  if not melody_lines.has_overlap(start, end, 30):  # A line already: read note for note.
    assert (line.start.tolist(), line.end.tolist()) == (start.tolist(), end.tolist())


@pytest.mark.parametrize('rules', [encoding.ReadingRules(), TOP])
def test_a_sliver_inside_a_held_note_is_lost_to_the_grid_not_a_chord(rules):
  # A 10-tick grace note inside a held note, as a slip of the finger leaves it; the held note
  # then sounds into the next one (so the track is not read note for note).
  track = read([(60, 0, 480), (61, 5, 15), (62, 400, 960)], rules)
  assert track.tokens.tolist() == [61] * 3 + [63] * 5
  assert (track.num_notes, track.notes_lost, track.notes_cut, track.notes_dropped) == (3, 1, 1, 0)
