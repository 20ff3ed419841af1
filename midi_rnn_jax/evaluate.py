r"""Score a trained model on a MIDI folder, beside two reference baselines.

  python -m midi_rnn_jax.evaluate --experiment_dir experiments/01 --data_dir data/midi

Every window of every usable track in --data_dir is scored (no sampling, so the
figures are deterministic; both model modes on the same targets, and a sequence-mode model
also with each track's whole past as context): negative log-likelihood of the true next step,
perplexity and accuracy, on all steps and on "change" steps only (where the next
step differs from the last one: a model can look good by just holding notes).
The baselines are fitted on the experiment's own training files: "repeat the
previous step" and an interpolated Witten-Bell n-gram whose order is chosen on
the experiment's validation files. Prints a table and writes
<experiment>/eval/<name of data_dir>.json.
"""

from __future__ import annotations

from midi_rnn_jax import stop_early

if __name__ == '__main__':  # First: Ctrl-C stops even the imports.
  stop_early.install()

# pylint: disable=wrong-import-position

import math
import os

from absl import flags

from midi_rnn_jax import cli, console, experiment
from midi_rnn_jax.data import (cached_tracks, dataset, encoding, model_inputs, parse_cache,
                               slicing)
from midi_rnn_jax.evaluation import baselines, scoring
from midi_rnn_jax.model import modes, training
from midi_rnn_jax.errors import UserError

flags.DEFINE_string('experiment_dir', None, 'Experiment to evaluate (default: the most recent in '
                    'experiments/).')
flags.DEFINE_string('data_dir', None, 'Folder of MIDI files to score (default: the '
                    'experiment\'s validation files, written to eval/validation.json).')
cli.define_checkpoint_flag()
flags.DEFINE_integer('n_jobs', 1, 'Processes used to parse MIDI files.', short_name='j',
                     lower_bound=1)
cli.define_cache_dir_flag()

FLAGS = flags.FLAGS


def table(results: dict) -> str:
  lines = [f'{"model":<22}{"windows":>9}{"NLL nats":>10}{"bits":>7}{"ppl":>8}{"acc":>7}'
           f'{"| change: NLL":>14}{"acc":>7}']
  for name, result in results.items():
    a, c = result['all'], result['change']
    lines.append(f'{name:<22}{a["windows"]:>9}{a["nll_nats"]:>10.4f}{a["nll_bits"]:>7.3f}'
                 f'{a["perplexity"]:>8.3f}{a["accuracy"]:>7.4f}{c["nll_nats"]:>14.4f}'
                 f'{c["accuracy"]:>7.4f}')
  return '\n'.join(lines)


def main(argv):
  del argv  # cli.run rejects stray arguments.
  experiment_dir = FLAGS.experiment_dir or experiment.latest_experiment_dir()
  config, graphdef, params = experiment.load_model(experiment_dir, FLAGS.checkpoint)
  if (warning := experiment.worse_than_a_guess(experiment_dir)):
    console.log(warning)
  window_size, rules = config['window_size'], encoding.ReadingRules.of_config(config)
  validation_records = parse_cache.read_records(
      experiment.validation_files(experiment_dir), FLAGS.cache_dir, FLAGS.n_jobs, console.log,
      rules)
  validation_tracks = cached_tracks.all_tracks(validation_records, window_size)
  records, training_files_scored = validation_records, 0
  if FLAGS.data_dir:
    records, data_summary, _ = dataset.load_corpus(
        FLAGS.data_dir, window_size, FLAGS.cache_dir, FLAGS.n_jobs, console.log, rules)
    console.log(data_summary)
    training_files_scored = len(
        {os.path.realpath(r.path) for r in records}
        & {os.path.realpath(p) for p in experiment.training_files(experiment_dir)})
    if training_files_scored:
      console.log(f'warning: {training_files_scored} of the {len(records)} files scored are '
                  f'training files of {experiment_dir}: their figures are not held out')
  tracks, meters = cached_tracks.all_tracks_and_meters(records, window_size)
  inputs, tune_ends = model_inputs.of_config(config), config.get('tune_ends', False)
  # Each track as the model reads it (between its marks), once: whole for the whole-track
  # scores, its own steps for the windows.
  read = [model_inputs.model_track(t, m, inputs, tune_ends) for t, m in zip(tracks, meters)]
  lstm_contexts, targets = slicing.every_window(
      [model_inputs.own_steps(track, tune_ends) for track in read], window_size)
  contexts = lstm_contexts.tokens
  if not len(targets):
    raise UserError(f'nothing to score: {experiment_dir} has no validation files left; '
                    'pass --data_dir')

  train_tracks = cached_tracks.usable_tracks(
      experiment.training_files(experiment_dir), window_size, FLAGS.cache_dir,
      rules, console.log)
  if not train_tracks:
    raise UserError(f'the training files of {experiment_dir} are gone: the baselines are '
                    'fitted on them')
  ngram, orders_tried, order_chosen_on = baselines.choose_order(train_tracks, validation_tracks,
                                                                window_size)
  if not validation_tracks:
    console.log(f'warning: {experiment_dir} has no validation files left: the n-gram order is '
                f'chosen on {order_chosen_on}')
  repeat = baselines.RepeatPrevious.fit(train_tracks)

  previous = contexts[:, -1]
  lstm_probabilities, lstm_predictions = scoring.lstm_scores(graphdef, params, lstm_contexts,
                                                             targets)
  mode = modes.of(config)
  results = {'lstm': scoring.summary(lstm_probabilities, lstm_predictions, targets, previous)}
  ends, copies = None, None
  if mode.carries_state:
    whole = scoring.whole_track_scores(graphdef, params, read, window_size, tune_ends)
    results['lstm (whole track)'] = scoring.summary(whole.probabilities, whole.predictions,
                                                    targets, previous)
    if tune_ends:
      ends = scoring.tune_end_summary(whole)
    if whole.copy_fit is not None:
      copies = scoring.bar_copy_summary(whole)
  results |= {
      f'ngram (order {ngram.order})': scoring.summary(ngram.probabilities(contexts, targets),
                                              ngram.predict(contexts), targets, previous),
      'repeat previous': scoring.summary(repeat.probabilities(contexts, targets),
                                 repeat.predict(contexts), targets, previous),
  }
  console.log(f'scored {len(tracks)} tracks of {len(records)} files, read as trained '
              f'(--polyphony={rules.polyphony} --tracks={rules.tracks})')
  print(table(results))
  if ends:
    print(f'tune ends ({ends["tunes"]} tunes): the end after the last step '
          f'{ends["end_nll_nats"]:.3f} nats, "not yet" before it {ends["not_yet_nll_nats"]:.4f} '
          f'nats per step (mean end probability there {ends["mean_end_probability_before"]:.4f})')
  if copies:
    print(f'bar copies ({copies["bar_lines"]} bar lines): {copies["nll_nats"]:.4f} nats per '
          f'decision; mean chance of a copy {copies["mean_copy_probability"]:.3f}, share of bars '
          f'that are copies {copies["share_of_copies"]:.3f}')
  not_finite = [name for name, result in results.items()
                if not math.isfinite(result['all']['nll_nats'])]
  if not_finite:
    console.log(f'warning: {", ".join(not_finite)} gave probability 0 to some targets: NLL infinite, '
                'written as null')
  if results['lstm']['all']['nll_nats'] > training.UNIFORM_NLL:
    console.log(f'warning: the LSTM scores worse than a uniform guess ({training.UNIFORM_NLL:.2f} '
                'nats): the model diverged or never learned')
  name = os.path.basename(os.path.normpath(FLAGS.data_dir)) if FLAGS.data_dir else 'validation'
  out = os.path.join(experiment_dir, 'eval', f'{name}.json')
  os.makedirs(os.path.dirname(out), exist_ok=True)
  lstm_result, *_, ngram_result, repeat_result = results.values()
  experiment.write_json_atomically(out, {
      'experiment_dir': experiment_dir, 'checkpoint': FLAGS.checkpoint,
      'data_dir': FLAGS.data_dir or 'validation files', 'window_size': window_size,
      'steps_per_quarter': rules.steps_per_quarter, 'polyphony': rules.polyphony,
      'tracks': rules.tracks, 'tracks_scored': len(tracks), 'mode': mode.name,
      'training_files_scored': training_files_scored,
      'lstm': lstm_result,
      **({'lstm_whole_track': results['lstm (whole track)']} if mode.carries_state else {}),
      **({'tune_ends': ends} if ends else {}),
      **({'bar_copies': copies} if copies else {}),
      'ngram': {**ngram_result, 'order': ngram.order,
                'order_chosen_on': order_chosen_on,
                'validation_nll_by_order': {str(k): v for k, v in orders_tried.items()}},
      'repeat_previous': {**repeat_result, 'repeat_probability': repeat.repeat_probability},
  })
  console.log(f'wrote {out}')


if __name__ == '__main__':
  cli.run(main)
