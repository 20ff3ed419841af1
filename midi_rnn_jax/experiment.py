"""An experiment folder on disk: numbering, config.json, and orbax checkpoints.

Layout of ``experiments/NN/``: ``config.json`` (every flag and the encoding
version, enough to rebuild the model), ``split.json`` (the training and
validation files), ``message.txt``, ``checkpoints/`` (best by validation loss
and latest), ``tensorboard-logs/``, ``generated/``.
"""

from __future__ import annotations

import json
import os
import re

import orbax.checkpoint as ocp

from midi_rnn_jax import encoding
from midi_rnn_jax.errors import UserError

EXPERIMENTS_ROOT = 'experiments'
CONFIG_FILE = 'config.json'
SPLIT_FILE = 'split.json'


def write_json_atomically(path: str, value) -> None:
  temporary = f'{path}.tmp'
  with open(temporary, 'w') as f:
    json.dump(value, f, indent=2, sort_keys=True)
    f.write('\n')
  os.replace(temporary, path)


def read_json(path: str):
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as error:
    raise UserError(f'cannot read {path}: {error}') from None


def next_experiment_dir(root: str = EXPERIMENTS_ROOT) -> str:
  """``root/NN``, one above the highest numbered folder, zero-padded to 2 digits."""
  numbers = [int(n) for n in os.listdir(root) if re.fullmatch(r'\d+', n)] if os.path.isdir(root) else []
  return os.path.join(root, f'{max(numbers, default=0) + 1:02d}')


def latest_experiment_dir(root: str = EXPERIMENTS_ROOT) -> str:
  """The most recently created experiment (by its config.json) under ``root``."""
  candidates = [os.path.join(root, n) for n in os.listdir(root)] if os.path.isdir(root) else []
  candidates = [d for d in candidates if os.path.isfile(os.path.join(d, CONFIG_FILE))]
  if not candidates:
    raise UserError(f'no experiment with a {CONFIG_FILE} in {root!r}: train one first or pass '
                    '--experiment_dir')
  return max(candidates, key=lambda d: os.path.getmtime(os.path.join(d, CONFIG_FILE)))


def check_unused(experiment_dir: str | None) -> None:
  """An explicit folder that already holds an experiment is an error: never overwrite work."""
  if experiment_dir is not None and os.path.exists(os.path.join(experiment_dir, CONFIG_FILE)):
    raise UserError(f'--experiment_dir {experiment_dir!r} already holds an experiment; '
                    'choose a new folder or leave the flag out for experiments/NN')


def create(experiment_dir: str | None, config: dict, message: str | None) -> str:
  """Makes the experiment folder (``experiments/NN`` when None) and writes config.json
  (and message.txt)."""
  check_unused(experiment_dir)
  if experiment_dir is None:
    experiment_dir = next_experiment_dir()
  os.makedirs(experiment_dir, exist_ok=True)
  write_json_atomically(os.path.join(experiment_dir, CONFIG_FILE),
                        {**config, 'experiment_dir': experiment_dir, 'message': message,
                         'encoding_version': encoding.ENCODING_VERSION,
                         'num_classes': encoding.NUM_CLASSES,
                         'steps_per_quarter': encoding.STEPS_PER_QUARTER})
  if message:
    with open(os.path.join(experiment_dir, 'message.txt'), 'w') as f:
      f.write(message + '\n')
  return experiment_dir


def load_config(experiment_dir: str) -> dict:
  config = read_json(os.path.join(experiment_dir, CONFIG_FILE))
  if config.get('encoding_version') != encoding.ENCODING_VERSION:
    raise UserError(f'{experiment_dir} was trained with encoding version '
                    f'{config.get("encoding_version")}; this midi_rnn_jax uses '
                    f'{encoding.ENCODING_VERSION}')
  return config


def checkpoint_manager(experiment_dir: str, read_only: bool = False) -> ocp.CheckpointManager:
  """Keeps two checkpoints at most: the latest epoch and the best by validation loss.

  Orbax writes each one into a temporary folder and renames it when complete,
  so an interrupted save never replaces a good checkpoint.
  """
  policy = ocp.checkpoint_managers.AnyPreservationPolicy([
      ocp.checkpoint_managers.LatestN(n=1),
      ocp.checkpoint_managers.BestN(get_metric_fn=lambda m: m['val_loss'], reverse=True, n=1),
  ])
  options = ocp.CheckpointManagerOptions(
      best_fn=lambda m: m['val_loss'], best_mode='min', preservation_policy=policy,
      enable_async_checkpointing=False, read_only=read_only, create=not read_only)
  return ocp.CheckpointManager(os.path.abspath(os.path.join(experiment_dir, 'checkpoints')),
                               options=options)


def save_checkpoint(manager: ocp.CheckpointManager, epoch: int, params, opt_state,
                    val_loss: float) -> None:
  manager.save(epoch, args=ocp.args.Composite(params=ocp.args.StandardSave(params),
                                              opt_state=ocp.args.StandardSave(opt_state)),
               metrics={'val_loss': float(val_loss)})


def restore_params(experiment_dir: str, abstract_params, which: str = 'best'):
  """The parameters of the best (lowest validation loss) or latest checkpoint."""
  manager = checkpoint_manager(experiment_dir, read_only=True)
  step = manager.best_step() if which == 'best' else manager.latest_step()
  if step is None:
    raise UserError(f'no checkpoint in {os.path.join(experiment_dir, "checkpoints")}')
  restored = manager.restore(step, args=ocp.args.Composite(
      params=ocp.args.StandardRestore(abstract_params)))
  return restored.params
