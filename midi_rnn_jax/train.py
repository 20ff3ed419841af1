r"""Train the melody LSTM on a folder of MIDI files.

  python -m midi_rnn_jax.train --data_dir data/midi
  python -m midi_rnn_jax.train --flagfile=configs/default.cfg -m "first try"

Flags keep the names, defaults and short aliases of the original midi-rnn.
"""

from __future__ import annotations

from midi_rnn_jax import stop_early

if __name__ == '__main__':  # First: Ctrl-C stops even the imports.
  stop_early.install()

# pylint: disable=wrong-import-position

import os
import sys
import time

import jax
import numpy as np
from absl import flags
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from tensorboardX import SummaryWriter

from midi_rnn_jax import cli, console, experiment, train_logs, train_loop
from midi_rnn_jax.data import dataset, encoding, model_inputs, parse_cache, token_store
from midi_rnn_jax.generate import samplers
from midi_rnn_jax.model import checkpoints, lstm, modes, parallel, training
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
flags.DEFINE_enum('lr_schedule', 'plateau', ['plateau', 'cosine'], 'plateau: halve the '
                  'learning rate when the validation loss stalls for 3 epochs (the original\'s '
                  'rule); cosine: start at --learning_rate and follow half a cosine down to 0 '
                  'over --num_epochs (each epoch at its own rate), which reaches a low loss in '
                  'fewer epochs.')
flags.DEFINE_float('grad_clip', 5.0, 'Clip gradients to this global norm (0: no clipping, as in '
                   'Keras).', lower_bound=0.0)
flags.register_validator('learning_rate', lambda value: value is None or value > 0,
                         message='--learning_rate must be above 0')
flags.DEFINE_string('message', None, 'A note about the experiment, saved to message.txt in '
                    '--experiment_dir.', short_name='m')
flags.DEFINE_integer('n_jobs', 1, 'Processes used to parse MIDI files.', short_name='j', lower_bound=1)
flags.DEFINE_integer('max_files_in_ram', 25, 'Files whose tokens are held in memory at once while '
                     'training windows are drawn; a shuffle buffer of 16,384 windows (or chunks) '
                     'mixes groups, so each batch still draws on many files.', lower_bound=1)
flags.DEFINE_integer('transpose', 0, 'Augmentation: shift each training window by a random number '
                     'of semitones within +-N, drawn anew every epoch (0: off).',
                     lower_bound=0, upper_bound=127)
flags.DEFINE_integer('steps_per_quarter', encoding.STEPS_PER_QUARTER, 'Grid steps per quarter '
                     'note: 4 = 16th notes; 2, 3, 6 and 8 also work. Sampling uses the same grid.')
flags.register_validator('steps_per_quarter', lambda v: v in encoding.ALLOWED_STEPS_PER_QUARTER,
                         message='--steps_per_quarter must be one of '
                         + ', '.join(map(str, encoding.ALLOWED_STEPS_PER_QUARTER)))
cli.define_reading_flags()
flags.DEFINE_enum('mode', 'window', list(modes.MODES), 'window: the original\'s model, which '
                  'predicts the step after each window of --window_size steps; sequence: predict '
                  'every step of chunks of --sequence_length steps, and sample with carried '
                  'state (see configs/melody.cfg).')
flags.DEFINE_integer('sequence_length', 128, 'Sequence mode: steps per training chunk.',
                     lower_bound=2)
for model_input in model_inputs.INPUTS:  # --bar_position, --lookback
  flags.DEFINE_boolean(model_input.name, False, model_input.help)
  if model_input.needs:
    flags.register_multi_flags_validator(
        [model_input.name, model_input.needs],
        lambda values, name=model_input.name, needs=model_input.needs: (
            not values[name] or values[needs]),
        message=f'--{model_input.name} needs --{model_input.needs}: it is computed from it')
flags.DEFINE_boolean('copy_lookback', False, 'Also let the model raise the logit of each '
                     'lookback token directly (a copy path from the inputs to the output), so '
                     'it repeats whole bars more readily. Needs --lookback.')
flags.register_multi_flags_validator(
    ['copy_lookback', 'lookback'], lambda values: not values['copy_lookback'] or values['lookback'],
    message='--copy_lookback needs --lookback: it copies the lookback tokens')
flags.DEFINE_boolean('tune_ends', False, 'Sequence mode: read each track as a whole tune, '
                     'between marks of its start and its end (a 130th class), so the model '
                     'learns how tunes begin and predicts where they end; its melodies then '
                     'start as a tune starts and end by themselves (docs/how-it-works.md).')
flags.register_multi_flags_validator(
    ['tune_ends', 'mode'], lambda values: not values['tune_ends'] or values['mode'] == 'sequence',
    message='--tune_ends needs --mode=sequence: a window has no tune start to read')
flags.DEFINE_boolean('copy_bars', False, 'Sequence mode: at each bar line, also decide whether '
                     'the coming bar is new or repeats the bar 1, 2, 4 or 8 bars back; the '
                     'sampler then copies it whole (docs/how-it-works.md). Needs --copy_lookback.')
flags.register_multi_flags_validator(
    ['copy_bars', 'copy_lookback', 'mode'], lambda values: not values['copy_bars'] or (
        values['copy_lookback'] and values['mode'] == 'sequence'),
    message='--copy_bars needs --copy_lookback and --mode=sequence: it copies what they look back to')
flags.DEFINE_boolean('form_decisions', False, 'With --copy_bars: the bar decision reads the '
                     'tune\'s form (which of its last 8 bars repeated the bar 1, 2, 4 or 8 back, '
                     'the bar number and the meter), not the LSTM\'s state, and a bar it copies '
                     'may end the tune (docs/results.md). Needs --bar_number.')
flags.register_multi_flags_validator(
    ['form_decisions', 'copy_bars', 'bar_number'], lambda values: not values['form_decisions'] or (
        values['copy_bars'] and values['bar_number']),
    message='--form_decisions needs --copy_bars and --bar_number: it decides their copies by bar')
flags.DEFINE_boolean('form_ends', False, 'With --form_decisions and --tune_ends: the bar '
                     'decision also says whether the coming bar is the tune\'s last; the sampler '
                     'makes the end 8 times as likely there: tunes end where their form does '
                     '(docs/results.md, "Form ends").')
flags.register_multi_flags_validator(
    ['form_ends', 'form_decisions', 'tune_ends'], lambda values: not values['form_ends'] or (
        values['form_decisions'] and values['tune_ends']),
    message='--form_ends needs --form_decisions and --tune_ends: it decides the bar a tune ends in')
flags.DEFINE_integer('seed', 0, 'Seed of the parameter init, the data split, shuffling and dropout.')
flags.DEFINE_string('coordinator_address', None, 'Several hosts: host:port of process 0, which '
                    'coordinates jax.distributed (on a Slurm cluster, or with '
                    'JAX_COORDINATOR_ADDRESS set, JAX finds it by itself).')
flags.DEFINE_integer('num_processes', 1, 'Several hosts: how many processes take part.',
                     lower_bound=1)
flags.DEFINE_integer('process_id', 0, 'Several hosts: this process\'s number, 0 to '
                     '--num_processes - 1; process 0 writes the experiment.', lower_bound=0)
flags.DEFINE_integer('startup_timeout', 120, 'Several hosts: seconds to wait for every process '
                     'of the run to start before giving up.', lower_bound=1)
flags.DEFINE_integer('num_devices', 0, 'Local devices (GPUs, or CPU devices) to train on, data '
                     'parallel: each takes an equal share of every batch (--batch_size stays the '
                     'whole batch and must divide by it). 0: all of them.', lower_bound=0)
flags.DEFINE_integer('cpu_devices', 1, 'On a CPU: split it into this many devices (one per '
                     'core, say), so training runs data parallel over them: the small batches of '
                     'the sequence mode then keep every core busy. Ignored on a GPU.',
                     lower_bound=1)
cli.define_cache_dir_flag()

FLAGS = flags.FLAGS
# A longer training chunk would need gigabytes of activations per batch row.
MAX_SEQUENCE_LENGTH = 16_384
TRAIN_FLAGS = ('data_dir', 'rnn_size', 'num_layers', 'learning_rate', 'window_size', 'batch_size',
               'num_epochs', 'dropout', 'optimizer', 'grad_clip', 'n_jobs', 'max_files_in_ram',
               'seed', 'cache_dir', 'transpose', 'steps_per_quarter', 'polyphony', 'tracks',
               'mode', 'sequence_length', 'num_devices', 'cpu_devices', 'lr_schedule',
               *lstm.OPTIONS)


def train_and_evaluate(config: dict, experiment_dir: str | None, message: str | None,
                       given: set[str], stop: cli.StopSignals) -> str:
  """Trains per ``config`` (the flag values; ``given``: the flags set on the command line) in a
  new experiment, or continues the one in ``experiment_dir``. Returns the experiment folder."""
  changes, progress = {}, None
  if experiment.is_experiment(experiment_dir):  # Checked before the slow parse, not after.
    cli.check_output_folder(experiment_dir, '--experiment_dir')
    config, changes = experiment.resumed_config(experiment_dir, {n: config[n] for n in given})
    progress = checkpoints.latest_progress(experiment_dir)
    if progress and progress.epochs_done >= config['num_epochs'] and not progress.batches_done:
      console.log(f'{experiment_dir} has finished its {progress.epochs_done} epochs (best val loss '
                  f'{progress.plateau.best:.4f}); pass a larger --num_epochs to train more')
      return experiment_dir
  else:
    cli.check_output_folder(experiment_dir or experiment.EXPERIMENTS_ROOT, '--experiment_dir')
    if jax.process_count() > 1 and experiment_dir is None:
      raise UserError('a run over several processes needs --experiment_dir (a folder every '
                      'process sees)')
  mesh = parallel.data_mesh(config.get('num_devices', 0), config['batch_size'])
  parallel.barrier('every process has checked the experiment folder')
  if jax.process_count() > 1:  # Each process parses its share into the cache; all read it.
    parse_cache.read_records(parallel.share(dataset.find_midi_files(
        config['data_dir'])), config['cache_dir'], config['n_jobs'], lambda _: None,
        encoding.ReadingRules.of_config(config))
    parallel.barrier('every file is parsed')
  corpus = dataset.load_corpus(
      config['data_dir'], config['window_size'], config['cache_dir'], config['n_jobs'], console.log,
      encoding.ReadingRules.of_config(config))
  console.log(corpus.summary)
  records, _ = token_store.stored(corpus.records, config['cache_dir'], console.log)
  train_records, val_records = dataset.split_files(records, config['data_dir'],
                                                   config['seed'])
  if not val_records:
    console.log('warning: a single usable file leaves nothing to validate on; '
                'the best checkpoint is chosen by training loss')
  if config['learning_rate'] is None:
    config = {**config, 'learning_rate': training.default_learning_rate(config['optimizer'])}
  # From here on, a signal lets the run save a checkpoint after its next steps.
  stop.deferring = True
  if parallel.is_primary():  # The others were given the folder: --experiment_dir.
    experiment_dir = experiment.write_files(experiment_dir, config, message, corpus.tracks,
                                            train_records, val_records)
  console.log(f'experiment: {experiment_dir} ({len(train_records)} training files, '
              f'{len(val_records)} validation files)')
  if corpus.skipped:
    console.log(f'{len(corpus.skipped)} files or tracks skipped: '
                f'{os.path.join(experiment_dir, experiment.SKIPPED_FILE)} says which and why '
                f'({experiment.TRACKS_FILE}: every track)')

  model = training.model_of_config(config, config['seed'])
  tx = training.make_optimizer(config['optimizer'], config['learning_rate'], config['grad_clip'])
  graphdef, state = training.init_state(model, tx)
  if progress:
    state = checkpoints.restore_training(experiment_dir, state, progress)
    if 'learning_rate' in changes:
      state = training.with_learning_rate(state, config['learning_rate'])
    where = (f', {progress.batches_done} batches into it' if progress.batches_done else '')
    console.log(f'resuming from epoch {progress.epochs_done + 1} of {config["num_epochs"]}{where}')
  if changes and parallel.is_primary():
    experiment.record_changes(experiment_dir, config, changes,
                              from_epoch=(progress.epochs_done if progress else 0) + 1)
  console.log(parallel.describe(mesh, config['batch_size']))
  run_epochs(config, experiment_dir, graphdef, tx, state, train_records, val_records,
             progress or checkpoints.Progress.start(config['seed']), stop, mesh)
  return experiment_dir


def run_epochs(config, experiment_dir, graphdef, tx, state, train_records, val_records,
               resume_at: checkpoints.Progress, stop: cli.StopSignals,
               mesh: jax.sharding.Mesh | None) -> None:
  """Trains from ``resume_at`` to ``config['num_epochs']``, checkpointing every epoch, and on a
  signal in the middle of one; data parallel over ``mesh``, under a watchdog, when given."""
  mode = modes.of(config)
  steps = training.make_steps(graphdef, tx, mode.logits_fn, mesh)
  steps, state = parallel.on_mesh(steps, state, mesh)
  steps = parallel.across_processes(steps, mesh)
  sample_melody = samplers.SAMPLERS[mode.name](graphdef, train_logs.MELODY_STEPS, temperature=1.0)
  melody_prime = train_logs.tensorboard_prime((val_records or train_records)[0], config)
  manager = checkpoints.manager(experiment_dir)
  writer = (SummaryWriter(os.path.join(experiment_dir, 'tensorboard-logs'))
            if parallel.is_primary() else None)
  rng = np.random.default_rng()
  rng.bit_generator.state = resume_at.rng_state
  key = jax.random.key(config['seed'])
  plateau = resume_at.plateau
  progress = Progress(TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(),
                      TextColumn('loss {task.fields[loss]:.3f}'), TimeRemainingColumn(),
                      transient=True, disable=not sys.stderr.isatty())
  resume_command = f'python -m midi_rnn_jax.train --experiment_dir {experiment_dir}'
  cache = train_loop.track_cache(config, len(train_records) + len(val_records))
  with progress:
    for epoch in range(resume_at.epochs_done + 1, config['num_epochs'] + 1):
      started, epoch_rng_state = time.perf_counter(), rng.bit_generator.state
      label = f'epoch {epoch}/{config["num_epochs"]}'
      if config.get('lr_schedule') == 'cosine':
        state = training.with_learning_rate(state, training.cosine_rate(
            config['learning_rate'], epoch, config['num_epochs']))
      state, metrics, per_second, batches_done = train_loop.train_epoch(
          steps, state, train_records, config, rng, key, progress, label, stop,
          resume_at if epoch == resume_at.epochs_done + 1 and resume_at.batches_done else None,
          cache)
      if batches_done is not None:  # Stopped by a signal in the middle of the epoch.
        checkpoints.save(manager, state, checkpoints.Progress(
            epoch - 1, batches_done, train_loop.current_step(state), plateau, epoch_rng_state,
            tuple(float(v) for v in metrics)), val_loss=float('inf'))
        raise cli.Interrupted(stop.received, f'stopped in {label} after {batches_done} batches; '
                              f'checkpoint saved: resume with {resume_command}')
      train_metrics = metrics.means()
      val_metrics = (train_loop.evaluate(steps, state.params, val_records, config, cache)
                     if val_records else train_metrics)
      lr = training.learning_rate(parallel.local(state))
      plateau, reduce = plateau.update(val_metrics['loss'])
      reduce = reduce and config.get('lr_schedule', 'plateau') == 'plateau'
      if reduce:
        state = training.with_learning_rate(state, lr * plateau.factor)
      checkpoints.save(manager, state, checkpoints.Progress(
          epoch, 0, train_loop.current_step(state), plateau, rng.bit_generator.state),
          val_metrics['loss'])
      train_logs.log_epoch(writer, epoch, config, train_metrics, val_metrics, lr, per_second,
                time.perf_counter() - started)
      if reduce:
        console.log(f'validation loss stalled for {plateau.patience} epochs: '
                    f'learning rate {lr:.3g} -> {lr * plateau.factor:.3g}')
      if writer:
        train_logs.log_melody(writer, epoch, np.asarray(sample_melody(
            parallel.local(state.params), melody_prime[0], jax.random.key(config['seed']),
            melody_prime[1]).tokens)[0],
            config['steps_per_quarter'])
      if stop.received and epoch < config['num_epochs']:
        raise cli.Interrupted(stop.received, f'stopped after {label}; checkpoint saved: '
                              f'resume with {resume_command}')
  stop.deferring = False
  if writer:
    writer.close()
  manager.close()
  console.log(f'done: best val loss {plateau.best:.4f}; checkpoints in '
              f'{experiment_dir}/checkpoints')


def cpu_devices() -> int:
  """--cpu_devices, or when it is not given, the value of the experiment it resumes."""
  if FLAGS['cpu_devices'].present or not experiment.is_experiment(FLAGS.experiment_dir):
    return FLAGS.cpu_devices
  return experiment.load_config(FLAGS.experiment_dir).get('cpu_devices', 1)


def main(argv):
  del argv  # cli.run rejects stray arguments.
  parallel.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id,
                      FLAGS.startup_timeout, cpu_devices())
  console.quiet = not parallel.is_primary()  # Process 0 speaks for the run; errors still show.
  if FLAGS.sequence_length > MAX_SEQUENCE_LENGTH:  # Before any array is sized by it.
    raise UserError(f'--sequence_length {FLAGS.sequence_length} is over {MAX_SEQUENCE_LENGTH:,} '
                    'steps: a chunk that long (a thousand 4/4 bars) would not fit in memory')
  config = {name: FLAGS[name].value for name in TRAIN_FLAGS}
  config['data_dir'] = os.path.abspath(config['data_dir'])
  given = {name for name in TRAIN_FLAGS if FLAGS[name].present}
  experiment_dir = FLAGS.experiment_dir
  if experiment_dir is None or not parallel.is_primary():  # A new folder is claimed atomically.
    train_and_evaluate(config, experiment_dir, FLAGS.message, given, cli.StopSignals())
    return
  cli.check_output_folder(experiment_dir, '--experiment_dir')
  with experiment.locked(experiment_dir):
    train_and_evaluate(config, experiment_dir, FLAGS.message, given, cli.StopSignals())


if __name__ == '__main__':
  cli.run(main)
