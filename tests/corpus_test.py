"""The default corpus: ABC tunes from music21 -> monophonic MIDI files."""

import os

import miditoolkit
import pytest

from conftest import ok, run_module
from midi_rnn_jax import corpus
from midi_rnn_jax.data import encoding, melody_file

pytest.importorskip('music21', reason='the corpus extra: pip install -e ".[corpus]"')

HAND_WRITTEN_ABC = """X:1
T:Test Tune
M:4/4
L:1/8
Q:1/4=100
K:G
G2 A>B c-c d2 | (3def g2 [Bd]2 z2 | {a}g4 F2 G2 |]

X:2
T:Second
M:3/4
L:1/4
K:C
C D E | F2 z |]

X:3
T:Pickup
M:6/8
L:1/8
K:D
FG | A3 B2 c | d6 |]
"""


def test_tunes_read_from_hand_written_abc(tmp_path):
  path = tmp_path / 'tunes.abc'
  path.write_text(HAND_WRITTEN_ABC)
  tunes = corpus.read_tunes(str(path))
  assert [t.getTitle() for t in tunes.values()] == ['Test Tune', 'Second', 'Pickup']
  first, second, pickup = (corpus.melody_notes(t) for t in tunes.values())
  third = 1 / 3
  # K:G sharpens F; A>B is dotted; c-c is one tied note; (3 is a triplet; [Bd] keeps its top
  # note; z is a rest; the grace note {a} is dropped.
  expected = [(67, 0, 1), (69, 1, 1.75), (71, 1.75, 2), (72, 2, 3), (74, 3, 4),
              (74, 4, 4 + third), (76, 4 + third, 4 + 2 * third), (78, 4 + 2 * third, 5),
              (79, 5, 6), (74, 6, 7), (79, 8, 10), (66, 10, 11), (67, 11, 12)]
  assert [p for p, _, _ in first[0]] == [p for p, _, _ in expected]
  assert [t for _, s, e in first[0] for t in (s, e)] == pytest.approx(
      [t for _, s, e in expected for t in (s, e)])
  assert first.bpm == 100.0 and first.meter == (4, 4)
  assert second == ([(60, 0, 1), (62, 1, 2), (64, 2, 3), (65, 3, 5)], melody_file.DEFAULT_BPM,
                    (3, 4))
  # A two-eighth pickup in 6/8 (a bar of 3 quarters) ends where the first full bar begins.
  assert pickup.meter == (6, 8)
  assert pickup.notes[:3] == [(66, 2.0, 2.5), (67, 2.5, 3.0), (69, 3.0, 4.5)]
  midi = corpus.tune_to_midi(pickup, 'Pickup')
  assert [(t.numerator, t.denominator, t.time) for t in midi.time_signature_changes] == [(6, 8, 0)]


def test_corpus_command_on_a_subset_writes_monophonic_midi_and_resumes(tmp_path):
  out = tmp_path / 'midi'
  args = ('--collections=ryans,oneills,essen', '--max_source_files=2', '-j', '2',
          f'--out_dir={out}')
  stderr = ok(run_module('corpus', *args, cwd=tmp_path))
  assert 'converting 6 with 2 processes' in stderr
  files = sorted(out.rglob('*.mid'))
  assert {f.parent.name for f in files} == {'ryans', 'oneills', 'essen'}
  assert len(files) > 100
  for path in files[::10]:
    midi = miditoolkit.MidiFile(str(path))
    (track,) = midi.instruments
    assert not track.is_drum and track.name
    tracks, skipped = encoding.encode_midi(midi)
    assert len(tracks) == 1 and skipped['polyphonic'] == []  # Monophonic by construction.
  # Resumable: finished sources are not converted again; an unfinished one is.
  assert 'converting 0 with' in ok(run_module('corpus', *args, cwd=tmp_path))
  marker = next((out / 'essen' / corpus.DONE_DIR).iterdir())
  os.remove(marker)
  assert 'converting 1 with' in ok(run_module('corpus', *args, cwd=tmp_path))
  assert sorted(out.rglob('*.mid')) == files
  # A corpus built with the other reading of repeats is converted again, tune by tune.
  assert 'converting 6 with' in ok(run_module('corpus', *args, '--repeats=written', cwd=tmp_path))
  assert sorted(out.rglob('*.mid')) == files


def test_unknown_collection_is_a_clear_error(tmp_path):
  result = run_module('corpus', '--collections=essen,bach', cwd=tmp_path)
  assert result.returncode == 2
  assert result.stderr.strip() == ('error: --collections: unknown bach; choose from '
                                   'essen, oneills, ryans')



def test_an_out_dir_that_cannot_be_made_is_one_line_before_any_conversion(tmp_path):
  (tmp_path / 'a_file').write_text('')
  (tmp_path / 'out').mkdir()
  (tmp_path / 'out' / 'essen').write_text('')  # A file where a collection's folder goes.
  for out_dir, said in (
      ('a_file', "--out_dir 'a_file' is a file, not a folder"),
      ('out', "--out_dir 'out/essen/.done' cannot be made: 'out/essen' is a file")):
    result = run_module('corpus', f'--out_dir={out_dir}', '--collections=essen', cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == f'error: {said}', result.stderr


REPEATS_ABC = """X:1
T:Repeats
M:4/4
L:1/4
K:C
C|:DEFG|1 A4:|2 B4||:c4|d4::e4|[1 f4:|[2 g4|]

X:2
T:A first ending with no second
M:4/4
L:1/4
K:C
|:CDEF|[1 G4:|A4|]
"""


def test_tunes_are_read_as_played_repeats_and_endings_expanded(tmp_path):
  path = tmp_path / 'repeats.abc'
  path.write_text(REPEATS_ABC)
  first, broken = corpus.read_tunes(str(path)).values()
  names = 'C D E F G A B c d e f g'.split()
  pitches = dict(zip(names, [60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79]))

  def played(*letters):
    return [pitches[n] for n in letters]

  as_played, fell_back = corpus.read_melody(first, played=True)
  assert not fell_back
  # The pickup; |: D E F G, first ending A, back; D E F G, second ending B; then c d twice
  # (|: ... ::), and e with its first ending f, then e with its second, g.
  assert [p for p, _, _ in as_played.notes] == played(
      'C', 'D', 'E', 'F', 'G', 'A', 'D', 'E', 'F', 'G', 'B', 'c', 'd', 'c', 'd',
      'e', 'f', 'e', 'g')
  starts = [s for _, s, _ in as_played.notes]
  assert starts == sorted(starts) and as_played.notes[0][1] == 3.0  # The pickup stays a pickup.
  as_written, _ = corpus.read_melody(first, played=False)
  assert [p for p, _, _ in as_written.notes] == played(
      'C', 'D', 'E', 'F', 'G', 'A', 'B', 'c', 'd', 'e', 'f', 'g')
  # Repeats that cannot be played fall back to the written order, and say so.
  fallback, fell_back = corpus.read_melody(broken, played=True)
  assert fell_back
  assert [p for p, _, _ in fallback.notes] == played('C', 'D', 'E', 'F', 'G', 'A')
