"""The command line, end to end: train on the in-repo Lakh subset, then sample."""

import json
import os
import re
import shutil
import struct
import wave

import jax
import miditoolkit
import numpy as np
import pytest
from flax import nnx
from tensorboardX.proto import event_pb2

from conftest import (REPO, accompaniment, bass_line, lakh_files, melody, ok,
                      run_module as run, scale_melody, write_midi)
from midi_rnn_jax.data import encoding
from midi_rnn_jax.model import model_file, training

SMOKE = str(REPO / 'configs' / 'smoke.cfg')


def summary_tags(log_dir):
  """Tags of the summaries in a TensorBoard event file (TFRecord framing, read by hand)."""
  tags = set()
  for name in os.listdir(log_dir):
    with open(os.path.join(log_dir, name), 'rb') as f:
      data = f.read()
    offset = 0
    while offset < len(data):
      (length,) = struct.unpack('<Q', data[offset:offset + 8])
      event = event_pb2.Event.FromString(data[offset + 12:offset + 12 + length])
      tags.update(v.tag for v in event.summary.value)
      offset += 12 + length + 4
  return tags


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  return tmp_path_factory.mktemp('cli')


@pytest.fixture(scope='module')
def trained(workdir, lakh_dir):
  """One smoke-config epoch on the Lakh subset, in the auto-numbered experiments/01."""
  stderr = ok(run('train', f'--flagfile={SMOKE}', f'--data_dir={lakh_dir}',
                  f'--cache_dir={workdir / "cache"}', '-m', 'smoke test', cwd=workdir))
  return workdir / 'experiments' / '01', stderr


def test_training_writes_a_complete_experiment(trained, lakh_dir):
  experiment_dir, stderr = trained
  assert f'data: {len(os.listdir(lakh_dir))} files found' in stderr
  assert 'epoch 1/1: train loss' in stderr and 'val loss' in stderr
  config = json.loads((experiment_dir / 'config.json').read_text())
  assert config['rnn_size'] == 16 and config['window_size'] == 16 and config['encoding_version'] == 1
  assert config['learning_rate'] == 0.01 and config['optimizer'] == 'adam'
  assert (experiment_dir / 'message.txt').read_text() == 'smoke test\n'
  split = json.loads((experiment_dir / 'split.json').read_text())
  assert 0.1 < len(split['validation']) / (len(split['train']) + len(split['validation'])) < 0.3
  (checkpoint,) = os.listdir(experiment_dir / 'checkpoints')  # Named by its optimizer step.
  assert checkpoint.isdigit()
  assert {'loss/train', 'loss/validation', 'accuracy/train', 'accuracy/validation',
          'learning_rate', 'windows_per_second', 'melody/piano_roll',
          'melody/audio'} <= summary_tags(experiment_dir / 'tensorboard-logs')


def test_a_second_run_uses_the_parse_cache(trained, workdir, lakh_dir):
  stderr = ok(run('train', f'--flagfile={SMOKE}', f'--data_dir={lakh_dir}',
                  f'--cache_dir={workdir / "cache"}', cwd=workdir))
  assert f'0 parsed, {len(os.listdir(lakh_dir))} from cache' in stderr
  assert 'experiment: experiments/02' in stderr


def written(stderr, names):
  """The files among ``names`` that sampling wrote: a barely trained model may sample a melody
  of rests only, which is not written but named in a warning; every name is one or the other."""
  silent = re.search(r'melodies are all rests, not written: (.*)', stderr)
  silent = silent.group(1).split(', ') if silent else []
  assert sorted(silent) == [n for n in names if n in silent]
  return [n for n in names if n not in silent]


def sample(experiment_dir, save_dir, *args):
  return ok(run('sample', f'--experiment_dir={experiment_dir}', f'--save_dir={save_dir}',
                '--num_files=3', '--file_length=64', *args, cwd=experiment_dir.parent.parent))


def test_sampled_files_are_monophonic_melodies_of_the_asked_length(trained, workdir):
  experiment_dir, _ = trained
  sample(experiment_dir, workdir / 'out', '--seed=1', '--midi_instrument=flute',
         f'--cache_dir={workdir / "cache"}')
  names = sorted(os.listdir(workdir / 'out'))
  assert names == ['01.mid', '02.mid', '03.mid']
  for name in names:
    midi = miditoolkit.MidiFile(str(workdir / 'out' / name))
    (track,) = midi.instruments
    assert track.program == 73 and not track.is_drum
    assert midi.tempo_changes[0].tempo == pytest.approx(120.0)
    steps = 64 * midi.ticks_per_beat // 4
    assert midi.markers[-1].time == steps
    notes = sorted(track.notes, key=lambda n: n.start)
    assert notes and all(a.end <= b.start for a, b in zip(notes, notes[1:]))  # Monophonic.
    assert 0 <= notes[0].start and notes[-1].end <= steps


def test_the_same_seed_gives_byte_identical_files(trained, workdir):
  experiment_dir, _ = trained
  for folder in ('seed_a', 'seed_b', 'seed_c'):
    seed = 9 if folder != 'seed_c' else 10
    sample(experiment_dir, workdir / folder, f'--seed={seed}', f'--cache_dir={workdir / "cache"}')
  for name in ('01.mid', '02.mid', '03.mid'):
    assert (workdir / 'seed_a' / name).read_bytes() == (workdir / 'seed_b' / name).read_bytes()
  assert any((workdir / 'seed_a' / n).read_bytes() != (workdir / 'seed_c' / n).read_bytes()
             for n in ('01.mid', '02.mid', '03.mid'))


def test_sampling_without_flags_uses_the_latest_experiment_and_keeps_old_files(
    trained, workdir, lakh_dir):
  latest = workdir / 'experiments' / '02'
  if not latest.exists():
    ok(run('train', f'--flagfile={SMOKE}', f'--data_dir={lakh_dir}',
           f'--cache_dir={workdir / "cache"}', cwd=workdir))
  stderr = ok(run('sample', '--num_files=2', '--file_length=16', '--seed=0',
                  f'--cache_dir={workdir / "cache"}', cwd=workdir))
  assert 'experiment experiments/02' in stderr
  first = written(stderr, ['01.mid', '02.mid'])
  prime = lakh_dir / sorted(os.listdir(lakh_dir))[0]
  stderr = ok(run('sample', '--num_files=2', '--file_length=16', f'--prime_file={prime}',
                  cwd=workdir))
  numbers = int(max(first, default='00.mid')[:2]) + np.arange(1, 3)  # Numbering goes on.
  assert sorted(os.listdir(latest / 'generated')) == first + written(
      stderr, [f'{n:02d}.mid' for n in numbers])


def test_a_corrupt_file_is_skipped_and_training_still_succeeds(tmp_path, lakh_dir):
  data = lakh_files(tmp_path / 'data', 6)
  (data / 'broken.mid').write_bytes(b'MThd\x00\x00\x00\x06\x00\x01\x00')
  stderr = ok(run('train', f'--flagfile={SMOKE}', f'--data_dir={data}', '--experiment_dir=exp',
                  f'--cache_dir={tmp_path / "cache"}', '--n_jobs=1', cwd=tmp_path))
  (warning,) = [line for line in stderr.splitlines() if 'broken.mid' in line]
  assert warning.startswith('warning: skipping unreadable MIDI file')
  assert '(1 unreadable' in stderr and 'epoch 1/1' in stderr
  assert len(os.listdir(tmp_path / 'exp' / 'checkpoints')) == 1


def one_line_error(result, *fragments):
  assert result.returncode == 2
  (line,) = result.stderr.strip().splitlines()
  assert line.startswith('error: ') and all(f in line for f in fragments), line


def test_bad_input_is_one_clear_line(tmp_path):
  write_midi(tmp_path / 'short.mid', [(scale_melody(10, 120), False)])
  one_line_error(run('train', f'--data_dir={tmp_path}', f'--cache_dir={tmp_path / "cache"}',
                     cwd=tmp_path), 'no usable MIDI track', str(tmp_path))
  assert not (tmp_path / 'experiments').exists()  # Nothing half-made is left behind.
  one_line_error(run('sample', f'--experiment_dir={tmp_path}', cwd=tmp_path), 'config.json')
  one_line_error(run('sample', '--midi_instrument=Kazoo', cwd=tmp_path), '--midi_instrument')


def test_rerunning_a_finished_experiment_changes_nothing(trained, workdir, lakh_dir):
  experiment_dir, _ = trained
  before = (experiment_dir / 'config.json').read_bytes()
  stderr = ok(run('train', f'--flagfile={SMOKE}', f'--data_dir={lakh_dir}',
                  f'--experiment_dir={experiment_dir}', f'--cache_dir={workdir / "cache"}',
                  cwd=workdir))
  assert 'has finished its 1 epochs' in stderr
  assert (experiment_dir / 'config.json').read_bytes() == before


def notes_of(path):
  midi = miditoolkit.MidiFile(str(path))
  return midi, midi.instruments[0].notes


def test_an_exported_model_samples_what_its_experiment_samples(trained, workdir):
  experiment_dir, _ = trained
  model = workdir / 'model.msgpack'
  assert '64 prime windows' in ok(run('export', f'--experiment_dir={experiment_dir}',
                                      f'--out={model}', f'--cache_dir={workdir / "cache"}',
                                      cwd=workdir))
  common = ('--num_files=3', '--file_length=48', '--seed=4', '--primer_notes=60,62,64:2,_,67')
  ok(run('sample', f'--experiment_dir={experiment_dir}', f'--save_dir={workdir / "from_exp"}',
         *common, cwd=workdir))
  ok(run('sample', f'--model={model}', f'--save_dir={workdir / "from_file"}', *common,
         cwd=workdir))
  for name in ('01.mid', '02.mid', '03.mid'):
    assert (workdir / 'from_exp' / name).read_bytes() == (workdir / 'from_file' / name).read_bytes()
  # Without any prime flag, the file's own prime windows are used.
  stderr = ok(run('sample', f'--model={model}', '--num_files=2', '--file_length=16', cwd=workdir))
  assert sorted(os.listdir(workdir / 'generated')) == written(stderr, ['01.mid', '02.mid'])


def test_sampling_controls_shape_the_output(trained, workdir):
  experiment_dir, _ = trained
  out = workdir / 'controls'
  primer = [61, 63, 63, 0, 65, 65, 65]  # "60,62:2,_,64:3" as tokens.
  ok(run('sample', f'--experiment_dir={experiment_dir}', f'--save_dir={out}', '--num_files=2',
         '--file_length=32', '--seed=2', '--primer_notes=60,62:2,_,64:3', '--include_primer',
         '--key=Eb', '--scale=minor_pentatonic', '--bpm=90', '--velocity=70', '--render',
         cwd=workdir))
  for name in ('01.mid', '02.mid'):
    midi, notes = notes_of(out / name)
    ticks_per_step = midi.ticks_per_beat // 4
    assert midi.markers[-1].time == (len(primer) + 32) * ticks_per_step
    (track,), _ = encoding.encode_midi(midi)
    assert track.tokens[:len(primer)].tolist() == primer
    generated = [n for n in notes if n.start >= len(primer) * ticks_per_step]
    assert {n.pitch % 12 for n in generated} <= {3, 6, 8, 10, 1}  # E-flat minor pentatonic.
    assert midi.tempo_changes[0].tempo == pytest.approx(90.0)
    assert {n.velocity for n in notes} == {70}
    with wave.open(str(out / name.replace('.mid', '.wav'))) as wav:  # --render
      seconds = wav.getnframes() / wav.getframerate()
    assert seconds == pytest.approx((len(primer) + 32) * 60 / 90 / 4, abs=1e-3)
    assert (out / name.replace('.mid', '.png')).stat().st_size > 1000
  stderr = ok(run('sample', f'--experiment_dir={experiment_dir}', f'--save_dir={out}',
                  '--num_files=2', '--file_length=32', '--primer_notes=60,62:2,_,64:3',
                  '--seed=5', cwd=workdir))
  for name in written(stderr, ['03.mid', '04.mid']):
    midi = miditoolkit.MidiFile(str(out / name))
    assert midi.markers[-1].time == 32 * midi.ticks_per_beat // 4  # No primer in the file.


def test_the_shipped_model_samples_before_any_training(tmp_path):
  stderr = ok(run('sample', '--num_files=2', '--file_length=32', '--seed=0', cwd=tmp_path))
  assert 'folk_lstm.msgpack' in stderr
  assert sorted(os.listdir(tmp_path / 'generated')) == ['01.mid', '02.mid']


def test_transpose_and_another_grid_reach_the_config_and_the_output(tmp_path, lakh_dir):
  data = lakh_files(tmp_path / 'data', 6)
  ok(run('train', f'--flagfile={SMOKE}', f'--data_dir={data}', '--experiment_dir=exp',
         '--transpose=5', '--steps_per_quarter=3', f'--cache_dir={tmp_path / "cache"}',
         cwd=tmp_path))
  config = json.loads((tmp_path / 'exp' / 'config.json').read_text())
  assert config['transpose'] == 5 and config['steps_per_quarter'] == 3
  stderr = ok(run('sample', '--experiment_dir=exp', '--num_files=3', '--file_length=30',
                  '--seed=2', f'--cache_dir={tmp_path / "cache"}', cwd=tmp_path))
  for name in written(stderr, ['01.mid', '02.mid', '03.mid']):
    midi, _ = notes_of(tmp_path / 'exp' / 'generated' / name)
    assert midi.markers[-1].time == 30 * midi.ticks_per_beat // 3
  result = run('train', f'--data_dir={data}', '--steps_per_quarter=5', cwd=tmp_path)
  assert result.returncode == 1 and '--steps_per_quarter must be one of 2, 3, 4, 6, 8' in result.stderr


def test_a_sequence_model_with_bar_positions_and_lookbacks_trains_exports_and_samples(
    tmp_path, lakh_dir):
  data = lakh_files(tmp_path / 'data', 6)
  stderr = ok(run('train', f'--flagfile={SMOKE}', f'--data_dir={data}', '--experiment_dir=seq',
                  '--mode=sequence', '--sequence_length=64', '--bar_position', '--lookback',
                  '--copy_lookback', '--transpose=3', '--batch_size=16', '--num_epochs=2',
                  '--lr_schedule=cosine', f'--cache_dir={tmp_path / "cache"}', cwd=tmp_path))
  assert 'tokens/s' in stderr
  # The cosine schedule: the first epoch at the smoke config's rate, the second at half.
  assert '| lr 0.01 |' in stderr and '| lr 0.005 |' in stderr
  config = json.loads((tmp_path / 'seq' / 'config.json').read_text())
  assert config['mode'] == 'sequence' and config['bar_position'] and config['lookback']
  assert config['copy_lookback']
  for flag, needed in (('--lookback', '--bar_position'), ('--copy_lookback', '--lookback')):
    refused = run('train', f'--data_dir={data}', '--bar_position', flag, f'--no{needed[2:]}',
                  cwd=tmp_path)
    assert refused.returncode == 1 and f'{flag} needs {needed}' in refused.stderr
  assert 'tokens_per_second' in summary_tags(tmp_path / 'seq' / 'tensorboard-logs')
  stderr = ok(run('sample', '--experiment_dir=seq', '--num_files=2', '--file_length=40',
                  '--seed=3', '--key=D', '--scale=Major', '--primer_notes=D4,E4,F#4:2',
                  '--include_primer', f'--cache_dir={tmp_path / "cache"}', cwd=tmp_path))
  assert '(sequence mode)' in stderr and 'kept' in stderr
  for name in ('01.mid', '02.mid'):
    midi, notes = notes_of(tmp_path / 'seq' / 'generated' / name)
    assert midi.markers[-1].time == 44 * midi.ticks_per_beat // 4  # 4 primer steps + 40.
    assert [n.pitch for n in notes[:3]] == [62, 64, 66]
  ok(run('export', '--experiment_dir=seq', '--out=seq.msgpack', '--num_primes=8',
         f'--cache_dir={tmp_path / "cache"}', cwd=tmp_path))
  for where in ('seq/generated/from_experiment', 'from_model'):
    source = ('--experiment_dir=seq' if where.startswith('seq') else '--model=seq.msgpack')
    ok(run('sample', source, f'--save_dir={where}', '--num_files=2', '--file_length=24',
           '--seed=5', '--data_dir=data', f'--cache_dir={tmp_path / "cache"}', cwd=tmp_path))
  for name in ('01.mid', '02.mid'):  # The model file samples what the experiment samples.
    assert ((tmp_path / 'from_model' / name).read_bytes()
            == (tmp_path / 'seq' / 'generated' / 'from_experiment' / name).read_bytes())
    # Primed from windows that end anywhere in a bar, each file is exactly --file_length long,
    # with a pickup bar where it starts mid-bar, and every bar line where the data has one.
    midi, _ = notes_of(tmp_path / 'from_model' / name)
    assert midi.markers[-1].time == 24 * midi.ticks_per_beat // 4
    meters = sorted(midi.time_signature_changes, key=lambda change: change.time)
    assert meters[-1].numerator * 4 // meters[-1].denominator == 4  # The Lakh files' 4/4.
    assert len(meters) == 1 or meters[1].time < midi.ticks_per_beat * 4


def test_a_diverging_run_stops_and_a_non_finite_model_is_refused(tmp_path, lakh_dir):
  data = lakh_files(tmp_path / 'data', 4)
  common = (f'--flagfile={SMOKE}', f'--data_dir={data}', f'--cache_dir={tmp_path / "cache"}')
  refused = run('train', *common, '--learning_rate=0', cwd=tmp_path)
  assert refused.returncode == 1 and '--learning_rate must be above 0' in refused.stderr
  diverged = run('train', *common, '--experiment_dir=exp', '--learning_rate=1e38',
                 '--optimizer=sgd', '--grad_clip=0', cwd=tmp_path)
  assert diverged.returncode == 2, diverged.stderr
  assert 'error: training diverged' in diverged.stderr and 'epoch 1/1' in diverged.stderr
  assert not (tmp_path / 'exp' / 'checkpoints').exists() or not os.listdir(
      tmp_path / 'exp' / 'checkpoints')
  config = json.loads((tmp_path / 'exp' / 'config.json').read_text())
  graphdef, params = training.model_from_config(config)
  broken = jax.tree.map(lambda leaf: leaf * np.nan, nnx.to_pure_dict(params))
  model_file.write_model_file(str(tmp_path / 'nan.msgpack'), config, broken,
                              np.zeros((0, config['window_size']), np.uint8), [])
  result = run('sample', '--model=nan.msgpack', '--primer_notes=60', cwd=tmp_path)
  assert result.returncode == 2
  assert result.stderr.strip().endswith('holds NaN or infinite parameters: the training diverged')


def test_a_melody_of_rests_only_is_said_and_not_written(trained, tmp_path):
  experiment_dir, _ = trained
  config = json.loads((experiment_dir / 'config.json').read_text())
  _, params = training.model_from_config(config)
  silent = nnx.to_pure_dict(params)
  silent['head']['bias'] = np.where(np.arange(encoding.NUM_CLASSES) == encoding.REST, 50.0, 0.0)
  model_file.write_model_file(str(tmp_path / 'silent.msgpack'), config, silent,
                              np.zeros((0, config['window_size']), np.uint8), [])
  result = ok(run('sample', '--model=silent.msgpack', '--primer_notes=60', '--num_files=2',
                  '--file_length=50', '--save_dir=out', cwd=tmp_path))
  assert 'warning: 2 of 2 melodies are all rests, not written: 01.mid, 02.mid' in result
  assert not (tmp_path / 'out').exists() or os.listdir(tmp_path / 'out') == []


def test_bad_output_paths_and_unreadable_checkpoints_are_one_line_before_slow_work(
    trained, workdir, tmp_path):
  experiment_dir, _ = trained
  (tmp_path / 'a_file').write_text('')
  one_line_error(run('train', f'--experiment_dir={tmp_path / "a_file"}', '--data_dir=missing',
                     cwd=tmp_path), '--experiment_dir', 'is a file')
  one_line_error(run('train', f'--experiment_dir={tmp_path / "a_file" / "exp"}',
                     '--data_dir=missing', cwd=tmp_path), 'cannot be made', 'is a file')
  one_line_error(run('sample', f'--experiment_dir={experiment_dir}',
                     f'--save_dir={tmp_path / "a_file"}', cwd=tmp_path), '--save_dir', 'is a file')
  one_line_error(run('export', f'--experiment_dir={experiment_dir}',
                     f'--out={tmp_path / "missing" / "m.msgpack"}', cwd=tmp_path),
                 '--out', 'does not exist')
  damaged = tmp_path / 'damaged'
  shutil.copytree(experiment_dir, damaged)
  largest = max((p for p in (damaged / 'checkpoints').glob('*/params/**/*') if p.is_file()),
                key=lambda p: p.stat().st_size)
  largest.write_bytes(largest.read_bytes()[:largest.stat().st_size // 2])
  one_line_error(run('sample', f'--experiment_dir={damaged}', cwd=tmp_path),
                 'is damaged: its file', 'has changed since it was written')
  # Without digests (as written before them), orbax's own metadata damaged.
  for digests in (damaged / 'checkpoints').glob('*/digests.json'):
    digests.unlink()
  for metadata in (damaged / 'checkpoints').glob('*/params/_METADATA'):
    metadata.write_text('not JSON')
  one_line_error(run('sample', f'--experiment_dir={damaged}', cwd=tmp_path),
                 'is damaged or incomplete', 'JSONDecodeError')
  # A config.json that no longer describes its checkpoints (changed, or of another version).
  changed = tmp_path / 'changed'
  shutil.copytree(experiment_dir, changed)
  config = json.loads((changed / 'config.json').read_text())
  (changed / 'config.json').write_text(json.dumps({**config, 'rnn_size': 2 * config['rnn_size']}))
  one_line_error(run('sample', f'--experiment_dir={changed}', cwd=tmp_path),
                 'does not hold the model', str(changed / 'config.json'), 'another version')
  # A model file whose parameters are not its config's model's.
  _, params = training.model_from_config(config)
  model_file.write_model_file(str(tmp_path / 'changed.msgpack'),
                              {**config, 'rnn_size': 2 * config['rnn_size']},
                              nnx.to_pure_dict(params), np.zeros((0, config['window_size']),
                                                                 np.uint8), [])
  one_line_error(run('sample', '--model=changed.msgpack', cwd=tmp_path),
                 "--model 'changed.msgpack' does not hold the model", 'its parameter')


def test_songs_with_a_bass_line_and_chords_train_on_their_melody(tmp_path):
  """--polyphony top --tracks melody on files of a melody, a bass line and an accompaniment
  with no track names: the melody trains, and every track's fate is written down."""
  data = tmp_path / 'data'
  data.mkdir()
  for song in range(6):
    write_midi(data / f'song{song}.mid', [(accompaniment(), False), (bass_line(), False),
                                          (melody(song), False)])
  stderr = ok(run('train', f'--flagfile={SMOKE}', f'--data_dir={data}', '--experiment_dir=exp',
                  '--polyphony=top', '--tracks=melody', f'--cache_dir={tmp_path / "cache"}',
                  cwd=tmp_path))
  assert '6 tracks used' in stderr and '12 files or tracks skipped' in stderr
  rows = [line.split('\t') for line in (tmp_path / 'exp' / 'tracks.tsv').read_text().splitlines()]
  assert sorted((track, what) for _, track, what in rows[1:]) == (
      [('1', 'skipped: not chosen by --tracks')] * 6 + [('2', 'skipped: not chosen by --tracks')] * 6
      + [('3', 'kept')] * 6)
  config = json.loads((tmp_path / 'exp' / 'config.json').read_text())
  assert (config['polyphony'], config['tracks']) == ('top', 'melody')
  stderr = ok(run('evaluate', '--experiment_dir=exp', f'--data_dir={data}',
                  f'--cache_dir={tmp_path / "cache"}', cwd=tmp_path))
  assert 'scored 6 tracks of 6 files, read as trained (--polyphony=top --tracks=melody)' in stderr
  assert json.loads((tmp_path / 'exp' / 'eval' / 'data.json').read_text())['tracks_scored'] == 6
  # A primer with chords in its melody's track gives that track's top line, not an error.
  # (The tune lies in 65-84, the notes under it two octaves lower.)
  chords_under_tune = [(p - 24 * k, s, e) for p, s, e in melody(9) for k in (0, 1)]
  write_midi(tmp_path / 'piano.mid', [(chords_under_tune, False)])
  ok(run('sample', '--experiment_dir=exp', '--num_files=1', '--file_length=16', '--seed=0',
         '--prime_file=piano.mid', '--include_primer', cwd=tmp_path))
  midi, notes = notes_of(tmp_path / 'exp' / 'generated' / '01.mid')
  primer_end = 16 * midi.ticks_per_beat // 4  # --window_size 16 steps of the smoke config.
  primer = [n.pitch for n in notes if n.start < primer_end]
  assert primer and all(65 <= pitch <= 84 for pitch in primer), primer
  refused = run('train', f'--data_dir={data}', '--tracks=program:200', cwd=tmp_path)
  assert refused.returncode == 1 and '--tracks must be all, melody' in refused.stderr
