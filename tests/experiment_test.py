"""Experiment folders: numbering that two runs cannot share, which experiment is latest, and
configs (config.json, a model file's) that cannot rebuild their model."""

import concurrent.futures
import json
import os
import time

import numpy as np
import pytest

from midi_rnn_jax import experiment
from midi_rnn_jax.model import checkpoints, model_file, training
from midi_rnn_jax.errors import UserError


def test_runs_started_at_once_claim_different_numbers(tmp_path):
  root = str(tmp_path / 'experiments')
  with concurrent.futures.ThreadPoolExecutor(8) as pool:
    claimed = list(pool.map(lambda _: experiment.claim_experiment_dir(root), range(16)))
  assert sorted(os.path.basename(p) for p in claimed) == [f'{n:02d}' for n in range(1, 17)]
  os.mkdir(os.path.join(root, '18'))  # A folder someone made by hand is never reused.
  assert experiment.claim_experiment_dir(root).endswith('19')


def test_the_latest_experiment_is_the_newest_one_with_a_checkpoint(tmp_path):
  root = tmp_path / 'experiments'
  for name, finished in (('01', True), ('02', True), ('03', False)):
    (root / name / 'checkpoints').mkdir(parents=True)
    if finished:
      (root / name / 'checkpoints' / '1').mkdir()
    (root / name / 'config.json').write_text(json.dumps({}))
    time.sleep(0.01)  # Distinct modification times.
  # 03 was stopped in its first epoch: it has no checkpoint, so 02 is the latest.
  assert experiment.latest_experiment_dir(str(root)) == str(root / '02')
  # 01, created first, finishes its training last: its checkpoint is the newest.
  (root / '01' / 'checkpoints' / '2').mkdir()
  assert experiment.latest_experiment_dir(str(root)) == str(root / '01')
  with pytest.raises(UserError, match='no experiment with a checkpoint'):
    experiment.latest_experiment_dir(str(tmp_path / 'none'))


@pytest.mark.parametrize('best,warned', [(1.2, False), (4.8, False), (6.0, True),
                                         (float('inf'), True), (float('nan'), True)])
def test_a_model_worse_than_a_uniform_guess_is_warned_about(monkeypatch, best, warned):
  progress = checkpoints.Progress(epochs_done=1, batches_done=0, step=10,
                                  plateau=training.Plateau(best=best), rng_state={})
  monkeypatch.setattr(checkpoints, 'latest_progress', lambda _: progress)
  warning = experiment.worse_than_a_guess('experiments/07')
  assert (warning is not None) == warned
  if warned:
    assert warning.startswith('warning: experiments/07 scored') and 'uniform guess (4.86)' in warning


GOOD_CONFIG = {'encoding_version': 1, 'mode': 'sequence', 'rnn_size': 16, 'num_layers': 1,
               'window_size': 20, 'steps_per_quarter': 4, 'sequence_length': 64, 'dropout': 0.1,
               'tune_ends': True}


@pytest.mark.parametrize('key, value, said', [
    ('rnn_size', 'big', "rnn_size must be a whole number of at least 1, not 'big'"),
    ('num_layers', 0, 'num_layers must be a whole number of at least 1, not 0'),
    ('window_size', 2.5, 'window_size must be a whole number of at least 1, not 2.5'),
    ('steps_per_quarter', True, 'steps_per_quarter must be a whole number of at least 1, not True'),
    ('sequence_length', None, 'sequence_length must be a whole number of at least 1, not None'),
    ('dropout', 1.0, 'dropout must be a number from 0 to below 1, not 1.0'),
    ('tune_ends', 'yes', "tune_ends must be true or false, not 'yes'"),
    ('mode', 'seq', "mode must be one of window, sequence, not 'seq'"),
])
def test_a_config_that_cannot_rebuild_its_model_is_one_error_naming_file_and_key(
    tmp_path, key, value, said):
  path = tmp_path / 'config.json'
  path.write_text(json.dumps(GOOD_CONFIG))
  assert experiment.load_config(str(tmp_path)) == GOOD_CONFIG
  path.write_text(json.dumps({**GOOD_CONFIG, key: value}))
  with pytest.raises(UserError, match='^' + str(path) + ': ' + said.replace('(', r'\(')):
    experiment.load_config(str(tmp_path))


def test_a_config_missing_a_size_or_not_an_object_is_one_error(tmp_path):
  path = tmp_path / 'config.json'
  path.write_text(json.dumps({k: v for k, v in GOOD_CONFIG.items() if k != 'rnn_size'}))
  with pytest.raises(UserError, match='rnn_size must be a whole number of at least 1, not missing'):
    experiment.load_config(str(tmp_path))
  path.write_text('[1, 2]')
  with pytest.raises(UserError, match='is not a config'):
    experiment.load_config(str(tmp_path))


def test_a_model_file_whose_config_cannot_rebuild_its_model_is_one_error(tmp_path):
  path = str(tmp_path / 'm.msgpack')
  model_file.write_model_file(path, {**GOOD_CONFIG, 'num_layers': -1}, {},
                              np.zeros((0, 20), np.uint8), [])
  with pytest.raises(UserError, match=r"^--model '.*m\.msgpack': num_layers must be a whole"):
    model_file.read_model_file(path)
