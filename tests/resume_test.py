"""Interrupt and resume: a stopped or killed run continues exactly where it left off."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from conftest import REPO, lakh_files, ok, run_module as run
from midi_rnn_jax import experiment

# Long epochs of small batches, so a signal lands in the middle of one; dropout and
# transposition, so every random stream must be restored for the runs to agree.
ARGS = (f'--flagfile={REPO / "configs" / "smoke.cfg"}', '--data_dir=data', '--cache_dir=cache',
        '--batch_size=4', '--dropout=0.2', '--transpose=2', '--n_jobs=1')


@pytest.fixture(scope='module')
def workdir(tmp_path_factory, lakh_dir):
  """Four Lakh files, and the reference: three epochs never interrupted."""
  workdir = tmp_path_factory.mktemp('resume')
  lakh_files(workdir / 'data', 4)
  ok(run('train', *ARGS, '--num_epochs=3', '--experiment_dir=reference', cwd=workdir))
  return workdir


def final_params(experiment_dir):
  return jax.tree.leaves(experiment.load_model(str(experiment_dir), 'latest')[2])


def assert_same_params(workdir, name):
  for a, b in zip(final_params(workdir / 'reference'), final_params(workdir / name)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-6)


def start(workdir, *args):
  """A training in the background, in its own process group (as a terminal starts it)."""
  return subprocess.Popen([sys.executable, '-m', 'midi_rnn_jax.train', *ARGS, *args],
                          cwd=workdir, env={**os.environ, 'PYTHONPATH': str(REPO)},
                          stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_line(process, fragment, timeout=120):
  """Reads the process's stderr up to a line holding ``fragment``; returns the lines read."""
  lines, deadline = [], time.monotonic() + timeout
  while time.monotonic() < deadline:
    line = process.stderr.readline()
    if not line:
      break
    lines.append(line)
    if fragment in line:
      return lines
  process.kill()
  raise AssertionError(f'no line with {fragment!r} in: {"".join(lines)}')


def test_more_epochs_continue_a_finished_run_exactly(workdir):
  ok(run('train', *ARGS, '--num_epochs=1', '--experiment_dir=one', cwd=workdir))
  stderr = ok(run('train', '--experiment_dir=one', '--num_epochs=3', cwd=workdir))
  assert 'resuming from epoch 2 of 3' in stderr and 'epoch 3/3' in stderr
  assert 'epoch 1/3' not in stderr
  assert_same_params(workdir, 'one')
  config = json.loads((workdir / 'one' / 'config.json').read_text())
  assert config['num_epochs'] == 3
  assert config['changes'] == [{'from_epoch': 2, 'flags': {'num_epochs': [1, 3]}}]
  again = ok(run('train', '--experiment_dir=one', cwd=workdir))
  (line,) = again.strip().splitlines()  # Nothing trained again.
  assert 'has finished its 3 epochs' in line
  refused = run('train', '--experiment_dir=one', '--num_epochs=4', '--rnn_size=32',
                '--window_size=8', cwd=workdir)
  assert refused.returncode == 2
  (line,) = refused.stderr.strip().splitlines()
  assert line.startswith('error: ') and '--rnn_size (16 there, 32 now)' in line and '--window_size (16 there, 8 now)' in line


def test_a_run_split_over_cpu_devices_resumes_split(workdir):
  stderr = ok(run('train', *ARGS, '--num_epochs=1', '--cpu_devices=2', '--experiment_dir=split',
                  cwd=workdir))
  assert 'devices: 2 cpu, data parallel, 2 of each batch of 4 on each' in stderr
  stderr = ok(run('train', '--experiment_dir=split', '--num_epochs=2', cwd=workdir))
  assert 'resuming from epoch 2 of 2' in stderr
  assert 'devices: 2 cpu, data parallel' in stderr


def test_a_signal_mid_epoch_saves_and_the_resumed_run_is_exact(workdir):
  """SIGTERM here; SIGINT takes the same path (and exits 130: see the parsing test)."""
  signum = signal.SIGTERM
  name = f'stopped_{signum.name}'
  process = start(workdir, '--num_epochs=3', f'--experiment_dir={name}')
  wait_for_line(process, 'experiment:')  # From here a signal waits for the first steps.
  os.killpg(process.pid, signum)  # As Ctrl-C does: the whole process group.
  stderr = process.stderr.read()
  assert process.wait(timeout=120) == 128 + signum, stderr
  assert 'checkpoint saved: resume with python -m midi_rnn_jax.train --experiment_dir' in stderr
  assert 'Traceback' not in stderr
  resumed = ok(run('train', f'--experiment_dir={name}', cwd=workdir))
  assert 'resuming from epoch 1 of 3, 16 batches into it' in resumed
  assert_same_params(workdir, name)


def test_a_run_killed_in_epoch_2_redoes_it_and_ends_equal(workdir):
  process = start(workdir, '--num_epochs=3', '--experiment_dir=killed')
  wait_for_line(process, 'epoch 1/3:')  # Its checkpoint is written: epoch 2 is starting.
  os.killpg(process.pid, signal.SIGKILL)
  process.wait(timeout=60)
  resumed = ok(run('train', '--experiment_dir=killed', cwd=workdir))
  assert 'resuming from epoch 2 of 3' in resumed
  assert_same_params(workdir, 'killed')


def test_a_folder_killed_before_its_first_checkpoint_trains_from_the_start(workdir):
  process = start(workdir, '--num_epochs=3', '--experiment_dir=early')
  wait_for_line(process, 'experiment:')
  os.killpg(process.pid, signal.SIGKILL)
  process.wait(timeout=60)
  assert not os.path.exists(workdir / 'early' / 'checkpoints' / '1')
  stderr = ok(run('train', '--experiment_dir=early', cwd=workdir))
  assert 'resuming' not in stderr and 'epoch 1/3' in stderr
  assert_same_params(workdir, 'early')


def test_ctrl_c_while_parsing_is_one_line(tmp_path, lakh_dir):
  process = subprocess.Popen(
      [sys.executable, '-m', 'midi_rnn_jax.train', f'--data_dir={lakh_dir}', '--n_jobs=2',
       f'--cache_dir={tmp_path / "cache"}', f'--experiment_dir={tmp_path / "exp"}'],
      cwd=tmp_path, env={**os.environ, 'PYTHONPATH': str(REPO)}, stderr=subprocess.PIPE,
      text=True, start_new_session=True)
  while not (tmp_path / 'cache').exists() or len(os.listdir(tmp_path / 'cache')) < 4:
    time.sleep(0.05)  # Workers are parsing.
  os.killpg(process.pid, signal.SIGINT)
  stderr = process.stderr.read()
  assert process.wait(timeout=60) == 130
  assert stderr.strip().splitlines() == ['interrupted by SIGINT']
