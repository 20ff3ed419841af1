"""The two MIDI readers: symusic (when installed) must give exactly miditoolkit's tokens."""

import miditoolkit
import mido
import pytest

from conftest import build_midi, scale_melody, write_midi
from midi_rnn_jax.data import encoding, readers

symusic = pytest.importorskip('symusic', reason='the fast reader: pip install ".[fast]"')


def encodings(midi, rules=encoding.ReadingRules()):
  tracks, skipped = encoding.encode_midi(midi, rules)
  return [(t.track, t.tokens.tolist(), t.positions.tolist(), t.bar_lengths.tolist(),
           t.beat_units.tolist(), t.num_notes, t.notes_lost, t.notes_cut, t.notes_dropped)
          for t in tracks], skipped


def assert_same_encodings(path, rules=encoding.ReadingRules()):
  assert encodings(readers.read_midi(str(path)), rules) == encodings(
      readers.read_with_miditoolkit(str(path)), rules)


@pytest.mark.parametrize('rules', [encoding.ReadingRules(),
                                   encoding.ReadingRules(polyphony='top', tracks='melody')])
def test_both_readers_encode_the_lakh_subset_identically(lakh_dir, rules):
  paths = sorted(lakh_dir.glob('*.mid'))
  fast = [p for p in paths if readers._read_with_symusic(str(p)) is not None]  # pylint: disable=protected-access
  assert len(fast) > 0.8 * len(paths)  # Most files take the fast path.
  for path in paths:
    assert_same_encodings(path, rules)


def test_both_readers_give_the_programs_and_names_that_tracks_selects_by(tmp_path):
  midi = build_midi([(scale_melody(40, 120, 60 + 5 * i), False) for i in range(3)])
  for instrument, program, name in zip(midi.instruments, (73, 33, 0), ('Flute', 'Bass', 'Lead')):
    instrument.program, instrument.name = program, name
  midi.dump(str(tmp_path / 'named.mid'))
  fast = readers.read_midi(str(tmp_path / 'named.mid'))
  assert isinstance(fast, readers._Midi)  # pylint: disable=protected-access
  assert [(i.program, i.name) for i in fast.instruments] == [(73, 'Flute'), (33, 'Bass'),
                                                            (0, 'Lead')]
  for tracks in ('program:73', 'program:30-40,name:lead', 'name:FLUTE'):
    assert_same_encodings(tmp_path / 'named.mid', encoding.ReadingRules(tracks=tracks))


def one_track_file(path, events, ticks_per_beat=480):
  """A type-0 file from (delta ticks, mido message) pairs."""
  midi = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
  track = mido.MidiTrack()
  for delta, message in events:
    track.append(message.copy(time=delta))
  midi.tracks.append(track)
  midi.save(str(path))
  return path


def notes_on(channel, pitches, step=120, program=None):
  events = [] if program is None else [(0, mido.Message('program_change', channel=channel,
                                                         program=program))]
  for pitch in pitches:
    events += [(0, mido.Message('note_on', channel=channel, note=pitch, velocity=80)),
               (step, mido.Message('note_off', channel=channel, note=pitch, velocity=0))]
  return events


@pytest.mark.parametrize('name', ['tracks_and_drums', 'meters_and_pickup', 'chord',
                                  'zero_length', 'channels_in_one_track', 'unclosed_note',
                                  'resolution_96'])
def test_both_readers_encode_edge_cases_identically(tmp_path, name):
  path = tmp_path / f'{name}.mid'
  melody = scale_melody(40, 120)
  if name == 'tracks_and_drums':
    write_midi(path, [(melody, False), (melody, True), (scale_melody(30, 60, 70), False)])
  elif name == 'meters_and_pickup':
    midi = build_midi([([(n[0], n[1] + 360, n[2] + 360) for n in melody], False)])
    midi.time_signature_changes = [miditoolkit.TimeSignature(3, 4, 0),
                                   miditoolkit.TimeSignature(6, 8, 2160)]
    midi.dump(str(path))
  elif name == 'chord':
    write_midi(path, [(melody + [(60, 0, 480), (64, 0, 480)], False), (melody, False)])
  elif name == 'zero_length':
    write_midi(path, [(melody + [(64, 240, 240), (64, 1200, 1200)], False)])
  elif name == 'channels_in_one_track':
    one_track_file(path, notes_on(0, range(60, 90), program=0) + notes_on(1, range(50, 80),
                                                                          program=40))
  elif name == 'unclosed_note':
    one_track_file(path, notes_on(0, range(60, 90))
                   + [(0, mido.Message('note_on', note=70, velocity=80))])
  else:
    write_midi(path, [(scale_melody(40, 24), False)], ticks_per_beat=96)
  assert_same_encodings(path)


def test_a_file_symusic_cannot_read_gets_miditoolkit_s_reason(tmp_path):
  path = tmp_path / 'cut.mid'
  write_midi(path, [(scale_melody(40, 120), False)])
  path.write_bytes(path.read_bytes()[:60])
  with pytest.raises(readers.UserError, match='unreadable MIDI file .*: EOFError'):
    readers.read_midi(str(path))
