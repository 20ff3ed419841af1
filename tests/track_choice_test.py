"""--tracks: the melody judged from the notes alone, and tracks chosen by program or name."""

import numpy as np
import pytest

from conftest import accompaniment, bass_line, build_midi, melody
from midi_rnn_jax.data import encoding, track_choice

def file_of(*tracks):
  """A MIDI file of ``tracks`` with no track names, all on program 0."""
  return build_midi([(notes, False) for notes in tracks])


MELODY = encoding.ReadingRules(polyphony='top', tracks='melody')


@pytest.mark.parametrize('order', [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_melody_is_found_beside_a_bass_line_and_an_accompaniment(order):
  parts = [melody(), bass_line(), accompaniment()]
  midi = file_of(*[parts[i] for i in order])
  assert all(not instrument.name for instrument in midi.instruments)
  tracks, skipped = encoding.encode_midi(midi, MELODY)
  melody_track = order.index(0) + 1
  assert [t.track for t in tracks] == [melody_track]
  assert skipped['not_chosen'] == sorted({1, 2, 3} - {melody_track})
  (alone,), _ = encoding.encode_midi(file_of(melody()), encoding.ReadingRules())
  np.testing.assert_array_equal(tracks[0].tokens, alone.tokens)


@pytest.mark.parametrize('only', [bass_line, accompaniment])
def test_a_file_of_only_a_bass_line_or_an_accompaniment_gives_no_melody(only):
  tracks, skipped = encoding.encode_midi(file_of(only()), MELODY)
  assert tracks == [] and skipped['not_chosen'] == [1]
  # Under --tracks all the same track is read.
  assert len(encoding.encode_midi(file_of(only()), encoding.ReadingRules(polyphony='top'))[0]) == 1


def test_tracks_chosen_by_program_or_name():
  midi = file_of(melody(), bass_line(), melody())
  for instrument, program, name in zip(midi.instruments, (73, 33, 0), ('Flute', 'Bass', 'Lead')):
    instrument.program, instrument.name = program, name

  def chosen(tracks):
    found, _ = encoding.encode_midi(midi, encoding.ReadingRules(tracks=tracks))
    return [t.track for t in found]

  assert chosen('program:73') == [1]
  assert chosen('program:32-39') == [2]
  assert chosen('name:lead,program:73') == [1, 3]
  assert chosen('name:LEAD') == [3]
  assert chosen('name:vocal') == []


@pytest.mark.parametrize('value', ['', 'melodies', 'program:128', 'program:9-3', 'program:x',
                                   'name:', 'program:1,'])
def test_bad_tracks_values_are_refused(value):
  error = track_choice.check(value)
  assert error is not None and error.startswith('--tracks: ')
  assert repr(value.split(',')[-1].strip()) in error


@pytest.mark.parametrize('value', ['all', 'melody', 'program:0', 'program:0-127', 'name:lead',
                                   'program:40-47, name:violin'])
def test_good_tracks_values_pass(value):
  assert track_choice.check(value) is None


def test_features_tell_a_melody_from_a_bass_line_and_an_accompaniment():
  tracks, _ = encoding.encode_midi(file_of(melody(), bass_line(), accompaniment()),
                                   encoding.ReadingRules(polyphony='top'))
  span = max(len(t.tokens) for t in tracks)
  tune, bass, chords = (track_choice.line_features(t.tokens, t.num_notes, t.notes_dropped, span)
                        for t in tracks)
  assert track_choice.could_be_melody(tune)
  assert bass['median_pitch'] < track_choice.LOWEST_MELODY_MEDIAN
  assert chords['mean_interval'] > track_choice.LARGEST_MEAN_INTERVAL
  assert chords['chord_notes'] > tune['chord_notes']
  assert track_choice.melody_score(tune) > track_choice.melody_score(chords)
