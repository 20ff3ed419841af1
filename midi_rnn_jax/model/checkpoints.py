"""Orbax checkpoints of a training run: what a run saves, and what sample, evaluate, export
and a resumed run read back.

Each checkpoint is the parameters, the optimizer state and a small JSON ``Progress`` (epoch,
position in the epoch, plateau rule, the data stream's random state), so a resumed run
continues exactly where the saved one stopped. Checkpoints are named by the optimizer step.
Orbax writes each into a temporary folder and renames it when complete, so a run killed
while saving never replaces a good checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from midi_rnn_jax.model import parallel, training
from midi_rnn_jax.errors import UserError

FOLDER = 'checkpoints'
# Beside each checkpoint's files: their SHA-256 digests, so a file damaged on disk is named
# in one line before TensorStore reads it (it may otherwise read garbage, or fail in pages).
DIGESTS = 'digests.json'


@dataclasses.dataclass(frozen=True)
class Progress:
  """Where a run stands when a checkpoint is written.

  ``epochs_done`` epochs are complete; ``batches_done`` batches of the next one are trained
  (0 at an epoch's end). ``rng_state`` is the data stream's numpy generator state at the start
  of that next epoch, and ``metric_sums`` its training metrics so far (training.Metrics' sums;
  runs from before copy_bars saved the first three).
  """
  epochs_done: int
  batches_done: int
  step: int
  plateau: training.Plateau
  rng_state: dict
  metric_sums: tuple[float, ...] = (0.0, 0.0, 0.0)

  @classmethod
  def start(cls, seed: int) -> 'Progress':
    """A run's start: nothing done, the data stream seeded with ``seed``."""
    return cls(0, 0, 0, training.Plateau(), np.random.default_rng(seed).bit_generator.state)

  def to_json(self) -> dict:
    return {**dataclasses.asdict(self), 'metric_sums': list(self.metric_sums)}

  @classmethod
  def from_json(cls, value: dict) -> 'Progress':
    return cls(**{**value, 'plateau': training.Plateau(**value['plateau']),
                  'metric_sums': tuple(value['metric_sums'])})


def folder(experiment_dir: str) -> str:
  return os.path.join(experiment_dir, FOLDER)


def has_checkpoint(experiment_dir: str) -> bool:
  """Whether orbax finished a checkpoint there (a folder named by its step)."""
  path = folder(experiment_dir)
  return os.path.isdir(path) and any(name.isdigit() for name in os.listdir(path))


def newest_checkpoint_time(experiment_dir: str) -> float:
  """When the newest finished checkpoint of ``experiment_dir`` was written (its folder's
  modification time)."""
  path = folder(experiment_dir)
  return max(os.path.getmtime(os.path.join(path, name)) for name in os.listdir(path)
             if name.isdigit())


def manager(experiment_dir: str, create: bool = True) -> ocp.CheckpointManager:
  """Keeps two checkpoints at most: the latest and the best by validation loss (a checkpoint
  written in the middle of an epoch has no validation loss: +inf)."""
  policy = ocp.checkpoint_managers.AnyPreservationPolicy([
      ocp.checkpoint_managers.LatestN(n=1),
      ocp.checkpoint_managers.BestN(get_metric_fn=lambda m: m['val_loss'], reverse=True, n=1),
  ])
  options = ocp.CheckpointManagerOptions(
      best_fn=lambda m: m['val_loss'], best_mode='min', preservation_policy=policy,
      enable_async_checkpointing=False, create=create)
  return ocp.CheckpointManager(os.path.abspath(folder(experiment_dir)), options=options)


def save(checkpoints: ocp.CheckpointManager, state: training.TrainState, progress: Progress,
         val_loss: float) -> None:
  checkpoints.save(progress.step, args=ocp.args.Composite(
      params=ocp.args.StandardSave(state.params),
      opt_state=ocp.args.StandardSave(state.opt_state),
      progress=ocp.args.JsonSave(progress.to_json())),
      metrics={'val_loss': float(val_loss)})
  if not parallel.is_primary():  # Process 0 writes the digests of a multi-process run's files.
    return
  step_folder = os.path.join(checkpoints.directory, str(progress.step))
  temporary = os.path.join(step_folder, f'{DIGESTS}.tmp')
  with open(temporary, 'w') as f:
    json.dump(_digests(step_folder), f, indent=0, sort_keys=True)
  os.replace(temporary, os.path.join(step_folder, DIGESTS))


def _digests(step_folder: str) -> dict[str, str]:
  digests = {}
  for root, _, names in os.walk(step_folder):
    for name in names:
      path = os.path.join(root, name)
      if name.startswith(DIGESTS):
        continue
      with open(path, 'rb') as f:
        digests[os.path.relpath(path, step_folder)] = hashlib.sha256(f.read()).hexdigest()
  return digests


def _check_digests(step_folder: str) -> None:
  """A UserError naming the first file of a checkpoint that changed since it was written
  (checkpoints written before digests existed are not checked)."""
  manifest = os.path.join(step_folder, DIGESTS)
  if not os.path.exists(manifest):
    return
  with open(manifest) as f:
    expected = json.load(f)
  found = _digests(step_folder)
  for name, digest in sorted(expected.items()):
    if found.get(name) != digest:
      state = 'is missing' if name not in found else 'has changed since it was written'
      raise UserError(f'the checkpoint {step_folder} is damaged: its file {name} {state}')


def _damaged(step_folder: str, error: Exception) -> UserError:
  """The one-line error for a checkpoint that orbax or TensorStore could not read."""
  reason = (str(error).strip() or 'no details').splitlines()[0].split('. See ')[0][:160]
  return UserError(f'the checkpoint {step_folder} is damaged or incomplete '
                   f'({type(error).__name__}: {reason})')


def _check_shapes(step_folder: str, abstract_params, experiment_dir: str) -> None:
  """A UserError naming the first parameter the checkpoint stores in another shape than the
  model its experiment's config describes (or lacks): a checkpoint of another version of
  midi_rnn_jax, or a config.json changed since. Read from the checkpoint's metadata, before
  orbax restores anything (whose own error would name neither, in pages)."""
  handler = ocp.StandardCheckpointHandler()
  try:
    params_folder = pathlib.Path(os.path.abspath(step_folder), 'params')  # orbax wants it absolute
    stored = training.param_shapes(handler.metadata(params_folder))
  except Exception as error:  # Its metadata unreadable (a checkpoint from before the digests).
    raise _damaged(step_folder, error) from None
  finally:
    handler.close()
  if (mismatch := training.shape_mismatch(abstract_params, stored)):
    raise UserError(f'the checkpoint {step_folder} does not hold the model '
                    f'{os.path.join(experiment_dir, "config.json")} describes: {mismatch} (a '
                    'checkpoint of another version of midi_rnn_jax, or a config.json changed '
                    'since)')


def _restore(experiment_dir: str, which: str, **items):
  """The named items of the best or latest checkpoint; one clear error when there is none
  or it is damaged."""
  path = folder(experiment_dir)
  checkpoints = manager(experiment_dir, create=False) if os.path.isdir(path) else None
  step = checkpoints and (checkpoints.best_step() if which == 'best' else checkpoints.latest_step())
  if step is None:
    raise UserError(f'no checkpoint in {path}')
  _check_digests(os.path.join(path, str(step)))
  if 'params' in items:
    _check_shapes(os.path.join(path, str(step)), items['params'].item, experiment_dir)
  try:
    return checkpoints.restore(step, args=ocp.args.Composite(**items))
  except Exception as error:  # TensorStore, JSON and orbax's own errors on damaged files.
    raise _damaged(os.path.join(path, str(step)), error) from None
  finally:
    checkpoints.close()


def restore_params(experiment_dir: str, abstract_params, which: str = 'best'):
  """The parameters of the best (lowest validation loss) or latest checkpoint."""
  restored = _restore(experiment_dir, which, params=ocp.args.StandardRestore(abstract_params))
  return check_finite(restored.params, f'the {which} checkpoint of {experiment_dir}')


def latest_progress(experiment_dir: str) -> Progress | None:
  """The progress saved in the latest checkpoint; None without a checkpoint."""
  if not has_checkpoint(experiment_dir):
    return None
  latest = os.path.join(folder(experiment_dir),
                        str(manager(experiment_dir, create=False).latest_step()))
  if not os.path.exists(os.path.join(latest, 'progress')):
    raise UserError(f'the checkpoint {latest} was written by an older midi_rnn_jax that kept '
                    'no resume data: start a new experiment')
  restored = _restore(experiment_dir, 'latest', progress=ocp.args.JsonRestore())
  return Progress.from_json(restored.progress)


def restore_training(experiment_dir: str, state: training.TrainState, progress: Progress
                     ) -> training.TrainState:
  """The latest checkpoint's training state, shaped like ``state``; ``progress`` is what
  ``latest_progress`` read from it."""
  restored = _restore(experiment_dir, 'latest', params=ocp.args.StandardRestore(state.params),
                      opt_state=ocp.args.StandardRestore(state.opt_state))
  params = check_finite(restored.params, f'the latest checkpoint of {experiment_dir}')
  return training.TrainState(jnp.asarray(progress.step, jnp.int32), params, restored.opt_state)


def check_finite(params, what: str):
  """``params``, or a UserError when any of them is NaN or infinite (a diverged model)."""
  if not all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(params)):
    raise UserError(f'{what} holds NaN or infinite parameters: the training diverged')
  return params
