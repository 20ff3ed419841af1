r"""Compare generated melodies with the training melodies: statistics, pictures, sound.

  python -m midi_rnn_jax.report --experiment_dir experiments/01

Reads the .mid files of --generated_dir (default <experiment>/generated) and compares them
with random excerpts of the same length from the experiment's training (or validation)
files, or --data_dir, and writes
<experiment>/report/report.md and report.json, with a piano-roll PNG and a WAV of
each generated melody beside them. Its "Tunes" section takes each generated file as a whole
tune against the reference files' whole tracks: length, endings, bars and parts that come back.
"""

from __future__ import annotations

from midi_rnn_jax import stop_early

if __name__ == '__main__':  # First: Ctrl-C stops even the imports.
  stop_early.install()

# pylint: disable=wrong-import-position

import glob
import os
from typing import NamedTuple

import numpy as np
from absl import flags

from midi_rnn_jax import cli, console, experiment
from midi_rnn_jax.data import cached_tracks, dataset, encoding, melody_file, parse_cache, readers
from midi_rnn_jax.evaluation import stats, tunes
from midi_rnn_jax.generate import render
from midi_rnn_jax.errors import UserError

flags.DEFINE_string('experiment_dir', None, 'Experiment to report on (default: the most recent '
                    'in experiments/).')
flags.DEFINE_string('generated_dir', None, 'Folder of generated .mid files (default: generated/ '
                    'inside --experiment_dir).')
flags.DEFINE_string('data_dir', None, 'Folder of reference MIDI files (default: the '
                    'experiment\'s files, as --reference says).')
flags.DEFINE_enum('reference', 'training', ['training', 'validation'], 'Without --data_dir, '
                  'compare with excerpts of the experiment\'s training or validation files.')
flags.DEFINE_integer('num_excerpts', 200, 'Reference excerpts, each as long as the generated '
                     'melodies (their median length), drawn at random.', lower_bound=1)
cli.define_cache_dir_flag()

FLAGS = flags.FLAGS


class Generated(NamedTuple):
  """A generated file's melody: its tokens (with the rests before its first note and, up to
  its end marker, after its last), its last bar length, the steps before its first bar line,
  its Meter, and whether its model ended it as a tune."""
  tokens: np.ndarray
  bar_length: int
  pickup: int
  meter: encoding.Meter
  tune_ended: bool


def pickup_in_whole_bar(meter: encoding.Meter, pickup: int) -> encoding.Meter:
  """``meter`` with its first ``pickup`` steps, a bar of their own as ``sample`` writes a
  pickup, placed at the end of a whole bar of the meter after them: where the sampler had
  them, and where the corpus's tunes have theirs, so that a pickup is no bar of the tune's.
  A first bar no shorter than the next is no pickup: left as it is."""
  if not 0 < pickup < len(meter.positions) or pickup >= meter.bar_lengths[pickup]:
    return meter
  whole, unit = meter.bar_lengths[pickup], meter.beat_units[pickup]
  positions, bar_lengths, beat_units = (np.array(values) for values in meter)
  positions[:pickup] = whole - pickup + np.arange(pickup)
  bar_lengths[:pickup], beat_units[:pickup] = whole, unit
  return encoding.Meter(positions, bar_lengths, beat_units)


def generated_melody(path: str, steps_per_quarter: int) -> Generated | None:
  """The Generated melody of the file's first usable track, as sample wrote it (None: none)."""
  midi = readers.read_with_miditoolkit(path)
  tracks, _ = encoding.encode_midi(midi, encoding.ReadingRules(steps_per_quarter))
  if not tracks:
    return None
  tokens = tracks[0].tokens
  first_note = min(n.start for n in midi.instruments[0].notes if n.end > n.start)
  leading = round(first_note * steps_per_quarter / midi.ticks_per_beat)
  length = melody_file.end_marker_steps(midi, steps_per_quarter) or leading + len(tokens)
  # A file that starts mid-bar opens with a shorter bar (sample's pickup).
  changes = sorted(midi.time_signature_changes, key=lambda change: change.time)
  pickup = (round(changes[1].time * steps_per_quarter / midi.ticks_per_beat)
            if len(changes) > 1 else 0)
  padded = np.pad(tokens, (leading, max(length - leading - len(tokens), 0)))
  meter = encoding.bar_positions(
      0, len(padded), [(c.time, c.numerator, c.denominator) for c in changes],
      midi.ticks_per_beat, steps_per_quarter)
  return Generated(padded, int(tracks[0].bar_lengths[-1]), pickup,
                   pickup_in_whole_bar(meter, pickup), melody_file.ended_by_model(midi))


def generated_melodies(folder: str, steps_per_quarter: int) -> dict[str, Generated]:
  """name -> the Generated melody of each file's first usable track, as sample wrote it."""
  melodies = {}
  for path in sorted(glob.glob(os.path.join(folder, '*.mid'))):
    if not os.path.isfile(path):  # A FIFO named .mid would block the reader for ever.
      continue
    melody = generated_melody(path, steps_per_quarter)
    if melody is not None:
      melodies[os.path.basename(path)] = melody
  if not melodies:
    raise UserError(f'--generated_dir {folder!r} holds no melody: run sample first')
  return melodies


def pictures_and_sound(generated: dict[str, np.ndarray], generated_dir: str, out: str,
                       steps_per_quarter: int) -> tuple[dict[str, str], int, int]:
  """name -> the piano-roll PNG of each melody, relative to ``out``; the bytes of the WAVs;
  and how many melodies were rendered here.

  Reuses the NAME.png and NAME.wav that ``sample --render`` wrote beside NAME.mid; renders
  into ``out`` only the melodies that have none."""
  images, wav_bytes, rendered_here = {}, 0, 0
  for name, tokens in generated.items():
    stem = os.path.splitext(name)[0]
    rendered = os.path.join(generated_dir, stem)
    if not (os.path.isfile(rendered + '.png') and os.path.isfile(rendered + '.wav')):
      rendered_here += 1
      rendered = os.path.join(out, stem)
      render.write_beside(rendered + '.mid', tokens, bpm=melody_file.DEFAULT_BPM,
                          steps_per_quarter=steps_per_quarter)
    images[name] = os.path.relpath(rendered + '.png', out)
    wav_bytes += os.path.getsize(rendered + '.wav')
  return images, wav_bytes, rendered_here


def compare(generated: dict[str, Generated], reference: list[tuple[np.ndarray, int]],
            training: list[np.ndarray], reference_tunes: list[tuple[np.ndarray, encoding.Meter]]
            ) -> dict:
  """Every statistic of the report, as one JSON-ready dict: the generated melodies against
  ``reference`` melodies (excerpts of the same length), each with its bar length, their
  novelty against the ``training`` tracks, and, taken as whole tunes, against
  ``reference_tunes`` (whole tracks with their meters)."""
  gen_features = {name: stats.melody_features(g.tokens, g.bar_length, g.pickup)
                  for name, g in generated.items()}
  train_features = [stats.melody_features(*melody) for melody in reference]
  train_ngrams = stats.TrainingNgrams(training)
  novelty = {name: stats.longest_shared_run(g.tokens, train_ngrams)
             for name, g in generated.items()}

  def summary(features):
    out = {k: float(np.mean([f[k] for f in features])) for k in stats.SCALAR_FEATURES}
    for histogram in ('pitch_class_histogram', 'note_length_histogram'):
      out[histogram] = np.mean([f[histogram] for f in features], axis=0).round(4).tolist()
    return out

  degenerate = [name for name, f in gen_features.items() if f['repeating_period']]
  return {
      'generated_files': len(generated), 'reference_melodies': len(reference),
      'reference_steps_mean': float(np.mean([len(t) for t, _ in reference])),
      'generated': summary(gen_features.values()), 'reference': summary(train_features),
      'overlap_area': {k: stats.overlap_area([f[k] for f in gen_features.values()],
                                             [f[k] for f in train_features])
                       for k in stats.SCALAR_FEATURES},
      'degeneration': {'share': len(degenerate) / len(generated), 'files': degenerate,
                       'longest_repeat_mean': float(np.mean(
                           [f['longest_repeat'] for f in gen_features.values()]))},
      'novelty': {'longest_shared_run': novelty,
                  'longest_shared_run_mean': float(np.mean(list(novelty.values())))},
      'tunes': {'generated': {**tunes.summary([tunes.tune_features(g.tokens, g.meter)
                                               for g in generated.values()]),
                              'ended_by_model': float(np.mean([g.tune_ended for g in
                                                               generated.values()]))},
                'reference': tunes.summary([tunes.tune_features(*tune)
                                            for tune in reference_tunes])},
      'files': gen_features,
  }


def markdown(report: dict, experiment_dir: str, images: dict[str, str]) -> str:
  gen, train = report['generated'], report['reference']
  lines = [f'# Report: {experiment_dir}', '',
           f'{report["generated_files"]} generated files against {report["reference_melodies"]} '
           f'reference excerpts of {report["reference_steps_mean"]:.0f} steps. Means per file; '
           'the overlap area of the two distributions of a '
           'feature is 1 when they match and near 0 when they do not (mgeval).', '',
           '| feature | generated | reference | overlap area |', '|---|---|---|---|']
  for key in stats.SCALAR_FEATURES:
    lines.append(f'| {key} | {gen[key]:.3f} | {train[key]:.3f} | '
                 f'{report["overlap_area"][key]:.3f} |')
  for title, key, labels in (('Pitch classes', 'pitch_class_histogram', stats.PITCH_CLASS_NAMES),
                             ('Note lengths (steps)', 'note_length_histogram',
                              stats.LENGTH_LABELS)):
    lines += ['', f'## {title}', '', '| | ' + ' | '.join(labels) + ' |',
              '|---' * (len(labels) + 1) + '|',
              '| generated | ' + ' | '.join(f'{v:.3f}' for v in gen[key]) + ' |',
              '| reference | ' + ' | '.join(f'{v:.3f}' for v in train[key]) + ' |']
  degeneration, novelty = report['degeneration'], report['novelty']
  lines += ['', '## Degeneration and novelty', '',
            f'- {degeneration["share"]:.0%} of the generated files end in one short pattern '
            f'(<= {stats.DEGENERATE_MAX_PERIOD} steps) repeated or one held token: '
            f'{", ".join(degeneration["files"]) or "none"}.',
            f'- Longest exact repeat inside a file: {degeneration["longest_repeat_mean"]:.1f} '
            'steps on average.',
            f'- Longest run shared with a training track (copying is not composing): '
            f'{novelty["longest_shared_run_mean"]:.1f} steps on average.', '',
            '| file | steps | notes | best scale | longest repeat | '
            'repeating period | longest run shared with training |',
            '|---|---|---|---|---|---|---|']
  for name, f in report['files'].items():
    lines.append(f'| {name} | {f["steps"]} | {f["notes"]} | '
                 f'{f["best_scale"]} ({f["scale_consistency"]:.2f}) | {f["longest_repeat"]} | '
                 f'{f["repeating_period"] or "-"} | {novelty["longest_shared_run"][name]} |')
  generated_tunes, reference_tunes = report['tunes']['generated'], report['tunes']['reference']
  lines += ['', '## Tunes', '',
            f'Each generated file as a whole tune, against {reference_tunes["tunes"]} whole '
            f'reference tracks. {generated_tunes["ended_by_model"]:.0%} of the generated '
            'files were ended by their model (a model trained with --tune_ends); the others '
            'stop at --file_length.', '',
            '| figure | generated | reference |', '|---|---|---|']
  for key, label in tunes.SUMMARY_LABELS.items():
    lines.append(f'| {label} | {tunes.formatted(generated_tunes, key)} | '
                 f'{tunes.formatted(reference_tunes, key)} |')
  lines += ['', '## Piano rolls', '']
  for name, image in images.items():
    lines += [f'### {name}', '', f'![{name}]({image})', f'[listen]({image[:-4]}.wav)', '']
  return '\n'.join(lines) + '\n'


def main(argv):
  del argv  # cli.run rejects stray arguments.
  experiment_dir = FLAGS.experiment_dir or experiment.latest_experiment_dir()
  config = experiment.load_config(experiment_dir)
  window_size, steps_per_quarter = config['window_size'], config['steps_per_quarter']
  rules = encoding.ReadingRules.of_config(config)
  generated_dir = FLAGS.generated_dir or os.path.join(experiment_dir, 'generated')
  generated = generated_melodies(generated_dir, steps_per_quarter)

  def records_of(paths):
    return parse_cache.read_records(paths, FLAGS.cache_dir, 1, console.log, rules)

  training_records = records_of(experiment.training_files(experiment_dir))
  if FLAGS.data_dir:
    records = dataset.load_corpus(FLAGS.data_dir, window_size, FLAGS.cache_dir, 1,
                                  console.log, rules).records
  else:
    records = (records_of(experiment.validation_files(experiment_dir))
               if FLAGS.reference == 'validation' else training_records)
  training = cached_tracks.all_tracks(training_records, window_size)
  reference, meters = cached_tracks.all_tracks_and_meters(records, window_size)
  if not reference or not training:
    raise UserError('no training tracks to compare with: pass --data_dir')
  length = int(np.median([len(g.tokens) for g in generated.values()]))
  excerpts = stats.excerpts(reference, meters, length, FLAGS.num_excerpts,
                            np.random.default_rng(0))
  report = compare(generated, excerpts, training, list(zip(reference, meters)))
  out = os.path.join(experiment_dir, 'report')
  os.makedirs(out, exist_ok=True)
  images, wav_bytes, rendered = pictures_and_sound(
      {name: g.tokens for name, g in generated.items()}, generated_dir, out,
      steps_per_quarter)
  experiment.write_json_atomically(os.path.join(out, 'report.json'), report)
  with open(os.path.join(out, 'report.md'), 'w') as f:
    f.write(markdown(report, experiment_dir, images))
  console.log(f'wrote {os.path.abspath(out)}/report.md and report.json; piano rolls and WAVs '
              f'({render.SAMPLE_RATE / 1000:g} kHz mono, {wav_bytes / 1e6:.1f} MB of WAV): '
              f'{len(images) - rendered} reused from {generated_dir}, {rendered} rendered')


if __name__ == '__main__':
  cli.run(main)
