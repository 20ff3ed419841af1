"""Experiment folders: numbering that two runs cannot share, and which experiment is latest."""

import concurrent.futures
import json
import os
import time

import pytest

from midi_rnn_jax import experiment
from midi_rnn_jax.model import checkpoints, training
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
