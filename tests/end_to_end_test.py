"""The command line, end to end: train on the shared Lakh subset, then sample."""

import json
import os
import shutil
import struct
import subprocess
import sys

import miditoolkit
import pytest
from tensorboardX.proto import event_pb2

from conftest import REPO, scale_melody, write_midi

SMOKE = str(REPO / 'configs' / 'smoke.cfg')


def run(module, *args, cwd):
  """Runs ``python -m midi_rnn_jax.<module> args`` in ``cwd``; returns the CompletedProcess."""
  env = {**os.environ, 'PYTHONPATH': str(REPO)}
  return subprocess.run([sys.executable, '-m', f'midi_rnn_jax.{module}', *args], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=600)


def ok(result):
  assert result.returncode == 0, result.stderr
  return result.stderr


def scalar_tags(log_dir):
  """Tags of the scalars in a TensorBoard event file (TFRecord framing, read by hand)."""
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
  assert len(split['validation']) == round(0.2 * (len(split['train']) + len(split['validation'])))
  assert os.listdir(experiment_dir / 'checkpoints') == ['1']
  assert {'loss/train', 'loss/validation', 'accuracy/train', 'accuracy/validation',
          'learning_rate', 'windows_per_second'} <= scalar_tags(experiment_dir / 'tensorboard-logs')


def test_a_second_run_uses_the_parse_cache(trained, workdir, lakh_dir):
  stderr = ok(run('train', f'--flagfile={SMOKE}', f'--data_dir={lakh_dir}',
                  f'--cache_dir={workdir / "cache"}', cwd=workdir))
  assert f'0 parsed, {len(os.listdir(lakh_dir))} from cache' in stderr
  assert 'experiment: experiments/02' in stderr


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
  prime = lakh_dir / sorted(os.listdir(lakh_dir))[0]
  ok(run('sample', '--num_files=2', '--file_length=16', f'--prime_file={prime}', cwd=workdir))
  assert sorted(os.listdir(latest / 'generated')) == ['01.mid', '02.mid', '03.mid', '04.mid']


def test_a_corrupt_file_is_skipped_and_training_still_succeeds(tmp_path, lakh_dir):
  data = tmp_path / 'data'
  data.mkdir()
  for name in sorted(os.listdir(lakh_dir))[:6]:
    shutil.copy(lakh_dir / name, data / name)
  (data / 'broken.mid').write_bytes(b'MThd\x00\x00\x00\x06\x00\x01\x00')
  stderr = ok(run('train', f'--flagfile={SMOKE}', f'--data_dir={data}', '--experiment_dir=exp',
                  f'--cache_dir={tmp_path / "cache"}', '--n_jobs=1', cwd=tmp_path))
  (warning,) = [line for line in stderr.splitlines() if 'broken.mid' in line]
  assert warning.startswith('warning: skipping unreadable MIDI file')
  assert '(1 unreadable' in stderr and 'epoch 1/1' in stderr
  assert os.listdir(tmp_path / 'exp' / 'checkpoints') == ['1']


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


def test_an_existing_experiment_is_never_overwritten(trained, workdir, lakh_dir):
  experiment_dir, _ = trained
  before = (experiment_dir / 'config.json').read_bytes()
  one_line_error(run('train', f'--flagfile={SMOKE}', f'--data_dir={lakh_dir}',
                     f'--experiment_dir={experiment_dir}', f'--cache_dir={workdir / "cache"}',
                     cwd=workdir), 'already holds an experiment')
  assert (experiment_dir / 'config.json').read_bytes() == before
