r"""Train the melody LSTM on a folder of MIDI files.

  python -m midi_rnn_jax.train --data_dir data/midi
  python -m midi_rnn_jax.train --flagfile=configs/default.cfg -m "first try"

Flags keep the names, defaults and short aliases of the original midi-rnn.
"""

from __future__ import annotations

import os
import sys
import time

import jax
import numpy as np
from absl import flags
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from tensorboardX import SummaryWriter
from tensorboardX.proto import summary_pb2

from midi_rnn_jax import (batching, cli, encoding, experiment, input_pipeline, modes, render,
                          sampling, training)
from midi_rnn_jax.errors import UserError

flags.DEFINE_string('data_dir', 'data/midi', 'Folder of .mid/.midi files to train on (searched recursively).')
flags.DEFINE_string('experiment_dir', None, 'Folder for checkpoints and TensorBoard logs. If omitted, '
                    'a new numbered folder is created in experiments/.')
flags.DEFINE_integer('rnn_size', 64, 'Size of the LSTM hidden state.', lower_bound=1)
flags.DEFINE_integer('num_layers', 1, 'Number of LSTM layers.', lower_bound=1)
flags.DEFINE_float('learning_rate', None, 'Learning rate. If not given, the recommended rate of '
                   'the chosen optimizer is used.', lower_bound=0.0)
flags.DEFINE_integer('window_size', 20, 'Steps (16th notes by default) of input the model sees to '
                     'predict the next step.', lower_bound=1)
flags.DEFINE_integer('batch_size', 32, 'Windows per training step.', lower_bound=1)
flags.DEFINE_integer('num_epochs', 10, 'Passes over every training window.', lower_bound=1)
flags.DEFINE_float('dropout', 0.2, 'Fraction of each layer\'s outputs dropped during training.',
                   lower_bound=0.0, upper_bound=0.99)
flags.DEFINE_enum('optimizer', 'adam', list(training.OPTIMIZERS), 'The optimization algorithm.')
flags.DEFINE_float('grad_clip', 5.0, 'Clip gradients to this global norm (0: no clipping, as in '
                   'Keras).', lower_bound=0.0)
flags.register_validator('learning_rate', lambda value: value is None or value > 0,
                         message='--learning_rate must be above 0')
flags.DEFINE_string('message', None, 'A note about the experiment, saved to message.txt in '
                    '--experiment_dir.', short_name='m')
flags.DEFINE_integer('n_jobs', 1, 'Processes used to parse MIDI files.', short_name='j', lower_bound=1)
flags.DEFINE_integer('max_files_in_ram', 25, 'Files whose tokens are held in memory at once while '
                     'training windows are drawn.', lower_bound=1)
flags.DEFINE_integer('transpose', 0, 'Augmentation: shift each training window by a random number '
                     'of semitones within +-N, drawn anew every epoch (0: off).',
                     lower_bound=0, upper_bound=127)
flags.DEFINE_integer('steps_per_quarter', encoding.STEPS_PER_QUARTER, 'Grid steps per quarter '
                     'note: 4 = 16th notes; 2, 3, 6 and 8 also work. Sampling uses the same grid.')
flags.register_validator('steps_per_quarter', lambda v: v in encoding.ALLOWED_STEPS_PER_QUARTER,
                         message='--steps_per_quarter must be one of '
                         + ', '.join(map(str, encoding.ALLOWED_STEPS_PER_QUARTER)))
flags.DEFINE_enum('mode', 'window', list(modes.MODES), 'window: the original\'s model, which '
                  'predicts the step after each window of --window_size steps; sequence: predict '
                  'every step of chunks of --sequence_length steps, and sample with carried '
                  'state (see configs/melody.cfg).')
flags.DEFINE_integer('sequence_length', 128, 'Sequence mode: steps per training chunk.',
                     lower_bound=2)
flags.DEFINE_boolean('bar_position', False, 'Also feed the model each step\'s position in its '
                     'bar (from the MIDI time signatures; 4/4 without one).')
flags.DEFINE_integer('seed', 0, 'Seed of the parameter init, the data split, shuffling and dropout.')
cli.define_cache_dir_flag()

FLAGS = flags.FLAGS
TRAIN_FLAGS = ('data_dir', 'rnn_size', 'num_layers', 'learning_rate', 'window_size', 'batch_size',
               'num_epochs', 'dropout', 'optimizer', 'grad_clip', 'n_jobs', 'max_files_in_ram',
               'seed', 'cache_dir', 'transpose', 'steps_per_quarter', 'mode', 'sequence_length',
               'bar_position')


def evaluate(steps: training.Steps, params, records, config: dict) -> dict[str, float]:
  metrics = training.Metrics.zero()
  for batch in modes.of(config).batches(records, config, rng=None):
    metrics = metrics + steps.eval_step(params, batch)
  return metrics.means()


def in_groups(items, size: int):
  """Lists of ``size`` consecutive items; the last one may be shorter."""
  group = []
  for item in items:
    group.append(item)
    if len(group) == size:
      yield group
      group = []
  if group:
    yield group


def train_epoch(steps, state, records, config, rng, key, progress, label):
  """One pass over the training windows (or tokens); returns the state, metrics and
  windows (or tokens) per second.

  Batches go to the device training.STEPS_PER_CALL at a time (one jitted lax.scan over them);
  the epoch's last, shorter group compiles once more, then is reused every epoch.
  """
  mode = modes.of(config)
  total = mode.epoch_size(records, config['window_size'])
  task = progress.add_task(label, total=total, loss=float('nan'))
  metrics = training.Metrics.zero()
  start = time.perf_counter()
  epoch_batches = mode.batches(records, config, rng)
  if config['transpose']:
    epoch_batches = (batching.transpose(b, config['transpose'], rng) for b in epoch_batches)
  for calls, group in enumerate(in_groups(epoch_batches, training.STEPS_PER_CALL)):
    stacked = batching.stack(group)
    state, group_metrics = steps.train_steps(state, stacked, key)
    metrics = metrics + group_metrics
    if calls % 8 == 0:  # Reading the loss waits for the device: not every call.
      loss = float(group_metrics.loss / group_metrics.count)
      stop_if_diverged(loss, label, int(state.step))
      progress.update(task, loss=loss)
    progress.advance(task, sum(float(b.weights.sum()) for b in group))
  means = metrics.means()  # Waits for the last step.
  stop_if_diverged(means['loss'], label, int(state.step))
  progress.remove_task(task)
  return state, means, total / (time.perf_counter() - start)


def stop_if_diverged(loss: float, label: str, step: int) -> None:
  """A NaN or infinite training loss ends the run before its parameters are saved."""
  if not np.isfinite(loss):
    raise UserError(f'training diverged: the training loss is {loss} in {label}, by step {step}; '
                    'the checkpoints of the earlier epochs are kept (try a lower '
                    '--learning_rate or --grad_clip)')


def log_epoch(writer: SummaryWriter, epoch: int, config: dict, train_metrics: dict,
              val_metrics: dict, lr: float, per_second: float, seconds: float) -> None:
  unit = modes.of(config).unit
  scalars = {'loss/train': train_metrics['loss'], 'accuracy/train': train_metrics['accuracy'],
             'loss/validation': val_metrics['loss'], 'accuracy/validation': val_metrics['accuracy'],
             'learning_rate': lr, f'{unit}_per_second': per_second}
  for name, value in scalars.items():
    writer.add_scalar(name, value, epoch)
  writer.flush()
  cli.log(f'epoch {epoch}/{config["num_epochs"]}: train loss {train_metrics["loss"]:.4f} '
          f'acc {train_metrics["accuracy"]:.4f} | val loss {val_metrics["loss"]:.4f} '
          f'acc {val_metrics["accuracy"]:.4f} | lr {lr:.3g} | {per_second:.0f} {unit}/s '
          f'| {seconds:.1f} s')


MELODY_STEPS = 64  # The melody sampled for TensorBoard after every epoch.


def log_melody(writer: SummaryWriter, epoch: int, tokens: np.ndarray, steps_per_quarter: int):
  """The epoch's sampled melody as a piano-roll image and as audio in TensorBoard."""
  writer.add_figure('melody/piano_roll', render.piano_roll_figure(
      tokens, f'epoch {epoch}', steps_per_quarter=steps_per_quarter), epoch)
  samples = render.synthesize(tokens, steps_per_quarter=steps_per_quarter)
  # tensorboardX's add_audio needs the soundfile package; the WAV is written here instead.
  audio = summary_pb2.Summary.Audio(
      sample_rate=render.SAMPLE_RATE, num_channels=1, length_frames=len(samples),
      encoded_audio_string=render.wav_bytes(samples), content_type='audio/wav')
  writer._get_file_writer().add_summary(  # pylint: disable=protected-access
      summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag='melody/audio', audio=audio)]),
      epoch)
  writer.flush()


def tensorboard_prime(record, config: dict) -> tuple[np.ndarray, np.ndarray]:
  """The primer (tokens and bar positions) of the melody sampled after every epoch."""
  window_size = config['window_size']
  (primer,) = sampling.choose_primes(*input_pipeline.load_tracks_and_meters(record, window_size),
                                     1, window_size, np.random.default_rng(config['seed']))
  return sampling.stack_primes([modes.of(config).prime(primer, window_size)], MELODY_STEPS)


def train_and_evaluate(config: dict, experiment_dir: str | None, message: str | None) -> str:
  """Trains per ``config`` (the flag values); returns the experiment folder."""
  experiment.check_unused(experiment_dir)  # Before the slow parse, not after.
  records, summary = input_pipeline.load_corpus(
      config['data_dir'], config['window_size'], config['cache_dir'], config['n_jobs'], cli.log,
      config['steps_per_quarter'])
  cli.log(summary)
  train_records, val_records = input_pipeline.split_files(records, config['seed'])
  if not val_records:
    cli.log('warning: a single usable file leaves nothing to validate on; '
            'the best checkpoint is chosen by training loss')
  if config['learning_rate'] is None:
    config = {**config, 'learning_rate': training.default_learning_rate(config['optimizer'])}
  experiment_dir = experiment.create(experiment_dir, config, message)
  experiment.write_json_atomically(os.path.join(experiment_dir, experiment.SPLIT_FILE), {
      'train': [os.path.abspath(r.path) for r in train_records],
      'validation': [os.path.abspath(r.path) for r in val_records]})
  cli.log(f'experiment: {experiment_dir} ({len(train_records)} training files, '
          f'{len(val_records)} validation files)')

  model = training.build_model(config['rnn_size'], config['num_layers'], config['dropout'],
                               config['seed'], config['bar_position'])
  tx = training.make_optimizer(config['optimizer'], config['learning_rate'], config['grad_clip'])
  graphdef, state = training.init_state(model, tx)
  mode = modes.of(config)
  steps = training.make_steps(graphdef, tx, mode.logits_fn)
  sample_melody = mode.make_sampler(graphdef, MELODY_STEPS, temperature=1.0)
  melody_prime = tensorboard_prime((val_records or train_records)[0], config)
  manager = experiment.checkpoint_manager(experiment_dir)
  writer = SummaryWriter(os.path.join(experiment_dir, 'tensorboard-logs'))
  rng = np.random.default_rng(config['seed'])
  key = jax.random.key(config['seed'])
  plateau = training.Plateau()
  progress = Progress(TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(),
                      TextColumn('loss {task.fields[loss]:.3f}'), TimeRemainingColumn(),
                      transient=True, disable=not sys.stderr.isatty())
  with progress:
    for epoch in range(1, config['num_epochs'] + 1):
      started = time.perf_counter()
      state, train_metrics, per_second = train_epoch(
          steps, state, train_records, config, rng, key, progress,
          label=f'epoch {epoch}/{config["num_epochs"]}')
      val_metrics = evaluate(steps, state.params, val_records, config) if val_records else train_metrics
      lr = training.learning_rate(state)
      experiment.save_checkpoint(manager, epoch, state.params, state.opt_state, val_metrics['loss'])
      log_epoch(writer, epoch, config, train_metrics, val_metrics, lr, per_second,
                time.perf_counter() - started)
      log_melody(writer, epoch, np.asarray(sample_melody(
          state.params, melody_prime[0], jax.random.key(config['seed']),
          melody_prime[1]).tokens)[0],
          config['steps_per_quarter'])
      plateau, reduce = plateau.update(val_metrics['loss'])
      if reduce:
        state = training.with_learning_rate(state, lr * plateau.factor)
        cli.log(f'validation loss stalled for {plateau.patience} epochs: '
                f'learning rate {lr:.3g} -> {lr * plateau.factor:.3g}')
  writer.close()
  manager.close()
  cli.log(f'done: best val loss {plateau.best:.4f}; checkpoints in {experiment_dir}/checkpoints')
  return experiment_dir


def main(argv):
  del argv  # cli.run rejects stray arguments.
  config = {name: FLAGS[name].value for name in TRAIN_FLAGS}
  try:
    train_and_evaluate(config, FLAGS.experiment_dir, FLAGS.message)
  except KeyboardInterrupt:
    cli.log('interrupted: checkpoints of the finished epochs are kept')
    sys.exit(130)


if __name__ == '__main__':
  cli.run(main)
