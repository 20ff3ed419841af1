"""One training epoch, and one validation pass, of the train command: the loop over jitted
steps with its progress bar, the divergence check, and the replay of a resumed epoch."""

from __future__ import annotations

import time

import numpy as np

from midi_rnn_jax.data import input_pipeline
from midi_rnn_jax.errors import UserError
from midi_rnn_jax.model import checkpoints, modes, parallel, training


def track_cache(config: dict, num_files: int) -> input_pipeline.TrackCache | None:
  """A cache of the run's track inputs for all its epochs, when its ``num_files`` files fit in
  memory at once (--max_files_in_ram); else None, and each epoch reads them again."""
  return {} if num_files <= config['max_files_in_ram'] else None


def evaluate(steps: training.Steps, params, records, config: dict,
             cache: input_pipeline.TrackCache | None = None) -> dict[str, float]:
  metrics = training.Metrics.zero()
  for batch in modes.of(config).validation_batches(records, config, cache):
    metrics = metrics + steps.eval_step(params, batch)
  return metrics.means()


def train_epoch(steps, state, records, config, rng, key, progress, label, stop,
                resume_at: checkpoints.Progress | None = None,
                cache: input_pipeline.TrackCache | None = None):
  """One pass over the training windows (or tokens).

  Batches go to the device training.STEPS_PER_CALL at a time (one jitted lax.scan over them);
  the epoch's last, shorter group compiles once more, then is reused every epoch. A resumed
  epoch (``resume_at``) replays the data stream up to where the checkpoint was written, without
  training, so it continues with the very batches the interrupted run would have trained.
  ``stop.received`` (a signal) ends the epoch early, after the current group of steps.

  Returns the state, the epoch's metrics, windows (or tokens) trained per second, and how many
  batches are done (None when the epoch is complete).
  """
  mode = modes.of(config)
  total = mode.epoch_size(records, config['window_size'], config.get('tune_ends', False))
  task = progress.add_task(label, total=total, loss=float('nan'))
  skip = resume_at.batches_done if resume_at else 0
  metrics = training.Metrics(*map(np.float32, resume_at.metric_sums if resume_at else (0, 0, 0)))
  trained, start = 0.0, time.perf_counter()
  epoch_batches = mode.batches(records, config, rng, cache)
  if config['transpose']:
    epoch_batches = (input_pipeline.transpose(b, config['transpose'], rng) for b in epoch_batches)
  batches_done = 0
  for calls, group in enumerate(input_pipeline.in_groups(epoch_batches, training.STEPS_PER_CALL)):
    examples = sum(float(b.weights.sum()) for b in group)
    batches_done += len(group)
    progress.advance(task, examples)
    if batches_done <= skip:
      continue
    state, group_metrics = steps.train_steps(state, input_pipeline.stack(group), key)
    metrics, trained = metrics + group_metrics, trained + examples
    if calls % 8 == 0:  # Reading the loss waits for the device: not every call.
      loss = float(group_metrics.loss / group_metrics.count)
      stop_if_diverged(loss, label, current_step(state))
      progress.update(task, loss=loss)
    if stop.received:
      break
  else:
    batches_done = None
  stop_if_diverged(metrics.means()['loss'], label, current_step(state))  # Waits for the last step.
  progress.remove_task(task)
  return state, metrics, trained / (time.perf_counter() - start), batches_done


def current_step(state: training.TrainState) -> int:
  return int(parallel.local(state.step))


def stop_if_diverged(loss: float, label: str, step: int) -> None:
  """A NaN, infinite or exploded training loss (a nat above a uniform guess's, which an
  untrained model starts at) ends the run before its parameters are saved."""
  if not np.isfinite(loss) or loss > training.UNIFORM_NLL + 1:
    raise UserError(f'training diverged: the training loss is {loss:.4g} in {label}, by step '
                    f'{step} (a uniform guess scores {training.UNIFORM_NLL:.2f}); the checkpoints '
                    'of the earlier epochs are kept (try a lower --learning_rate or --grad_clip)')
