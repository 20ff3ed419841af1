r"""Generate melodies from a trained experiment or an exported model file.

  python -m midi_rnn_jax.sample                      # latest experiment, 10 files
  python -m midi_rnn_jax.sample --experiment_dir experiments/03 --num_files 3 \
      --file_length 256 --prime_file tune.mid --midi_instrument Flute --seed 7
  python -m midi_rnn_jax.sample --model folk.msgpack --primer_notes "62,64,66:2,_,69:4" \
      --key D --scale major --top_k 10

The original midi-rnn's flags keep their names and defaults; the rest are new.
Without an experiment or --model it samples the model shipped in
midi_rnn_jax/pretrained/.
"""

from __future__ import annotations

from midi_rnn_jax import stop_early

if __name__ == '__main__':  # First: Ctrl-C stops even the imports.
  stop_early.install()

# pylint: disable=wrong-import-position

import dataclasses
import os
import re

import jax
import miditoolkit
import numpy as np
from absl import flags
from flax import nnx

from midi_rnn_jax import cli, console, experiment, files, sample_messages
from midi_rnn_jax.data import cached_tracks, dataset, encoding, melody_file, parse_cache
from midi_rnn_jax.evaluation import stats
from midi_rnn_jax.generate import instruments, priming, render, samplers
from midi_rnn_jax.model import model_file, modes
from midi_rnn_jax.errors import UserError

SHIPPED_MODEL = os.path.join(os.path.dirname(__file__), 'pretrained', 'folk_lstm.msgpack')

flags.DEFINE_string('experiment_dir', None, 'Experiment to load the model from (default: the most '
                    'recent folder in experiments/).')
flags.DEFINE_string('model', None, 'A model file from python -m midi_rnn_jax.export, instead of '
                    'an experiment.')
flags.DEFINE_string('save_dir', None, 'Folder for the generated files (default: generated/ inside '
                    '--experiment_dir; generated/ here with --model).')
flags.DEFINE_string('midi_instrument', 'Acoustic Grand Piano', 'General MIDI instrument of the '
                    'output: a name (any case) or a program number 0-127.')
flags.DEFINE_boolean('list_instruments', False, 'Print the General MIDI instruments and exit.')
flags.DEFINE_integer('num_files', 10, 'Number of MIDI files to generate.', lower_bound=1)
flags.DEFINE_integer('file_length', 1000, 'Length of each generated file, in grid steps (16th '
                     'notes by default); for a model trained with --tune_ends, the longest a tune '
                     'may be: it ends where the model ends it.', lower_bound=1)
flags.DEFINE_string('prime_file', None, 'A .mid file whose random windows seed the melodies.')
flags.DEFINE_string('data_dir', None, 'Folder of .mid files whose random windows seed the '
                    'melodies (default: the experiment\'s validation files, or the windows '
                    'stored in --model).')
flags.DEFINE_string('primer_notes', None, 'A melody that starts every file, written by hand: '
                    'comma-separated MIDI pitches or note names (C4 = 60, F#4, Bb3) and _ for '
                    'rests, one step each, or N steps with :N, e.g. "D4,E4,F#4:2,_,A4:4".')
flags.DEFINE_boolean('include_primer', False, 'Start each output file with its primer (the '
                     '--primer_notes, or the prime window); off: the file holds only new steps.')
flags.DEFINE_float('temperature', 1.0, 'Softmax temperature: below 1 is safer, above 1 wilder, '
                   '0 always takes the most likely step.', lower_bound=0.0)
flags.DEFINE_integer('top_k', 0, 'Sample only among the k most likely tokens (0: all).',
                     lower_bound=0, upper_bound=encoding.NUM_CLASSES)
flags.DEFINE_float('top_p', 1.0, 'Sample only among the most likely tokens whose probabilities '
                   'add up to p (nucleus sampling; 1.0: all).', lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float('home_ending', 1.0, 'For a model trained with --tune_ends and --bar_position: '
                   'a tune\'s end is this many times as likely where the tune would end home (its '
                   'last note on the tonic of its key, started early in its bar) and this many '
                   'times less likely elsewhere; 1: where the model ends it. 1.5 ends the '
                   'shipped model\'s tunes home about as often as the folk tunes end home '
                   '(docs/results.md).',
                   lower_bound=1.0)
flags.DEFINE_integer('min_length', 0, 'For a model trained with --tune_ends: no tune ends before '
                     'this many new steps (0: wherever the model ends it). 48 keeps the shipped '
                     'model from the few tunes of one or two bars it writes (docs/results.md).',
                     lower_bound=0)
flags.DEFINE_integer('redraws', 2, 'For a model trained with --tune_ends: how many times a tune '
                     'that comes out degenerate (one held note, almost all rests, or a second '
                     'half that loops a pattern of up to 16 steps: what report counts) is drawn '
                     'again from its opening; one still degenerate is kept, with a warning. '
                     '0: keep every first draw.', lower_bound=0)
flags.DEFINE_string('key', 'C', 'Root of --scale: C, C#, Db, D, ... B.')
flags.DEFINE_flag(flags.EnumFlag(
    'scale', 'chromatic', 'Allow only the pitches of this scale on --key (chromatic: every '
    'pitch); any case.', list(samplers.SCALES), case_sensitive=False))
flags.DEFINE_float('bpm', melody_file.DEFAULT_BPM, 'Tempo of the output files.', lower_bound=1.0)
flags.DEFINE_integer('velocity', melody_file.DEFAULT_VELOCITY, 'Velocity of every output note.',
                     lower_bound=1, upper_bound=127)
flags.DEFINE_boolean('render', False, 'Also write NAME.png (a piano roll) and NAME.wav (built-in '
                     'synthesizer) beside each NAME.mid.')
flags.DEFINE_integer('seed', None, 'Seed of the prime choice and the sampling; the same seed '
                     'gives the same files (default: a random seed, printed).')
cli.define_checkpoint_flag()
cli.define_cache_dir_flag()

FLAGS = flags.FLAGS


@dataclasses.dataclass(frozen=True)
class LoadedModel:
  config: dict
  graphdef: nnx.GraphDef
  params: nnx.State
  # The prime windows of a model file, and their meters.
  stored_primes: tuple[np.ndarray, list[encoding.Meter]] | None
  experiment_dir: str | None
  description: str


def load_model() -> LoadedModel:
  """The model the flags name: --model, --experiment_dir, the latest experiment, or the
  shipped model when there is no experiment at all."""
  if FLAGS.model and FLAGS.experiment_dir:
    raise UserError('pass --model or --experiment_dir, not both')
  model_path = FLAGS.model
  if model_path is None and FLAGS.experiment_dir is None:
    try:
      experiment_dir = experiment.latest_experiment_dir()
    except UserError:
      if not os.path.isfile(SHIPPED_MODEL):
        raise
      model_path = SHIPPED_MODEL
  else:
    experiment_dir = FLAGS.experiment_dir
  if model_path is not None:
    config, graphdef, params, *primes = model_file.load_model_file(model_path)
    return LoadedModel(config, graphdef, params, tuple(primes), None, f'model {model_path}')
  config, graphdef, params = experiment.load_model(experiment_dir, FLAGS.checkpoint)
  if (warning := experiment.worse_than_a_guess(experiment_dir)):
    console.log(warning)
  return LoadedModel(config, graphdef, params, None, experiment_dir,
                     f'experiment {experiment_dir}')


def prime_tracks(model: LoadedModel) -> tuple[list[np.ndarray], list[encoding.Meter]]:
  """Token tracks (and their meters) to draw prime windows from, as the flags choose."""
  window_size = model.config['window_size']
  rules = encoding.ReadingRules.of_config(model.config)
  if FLAGS.prime_file:  # Read as the model's data was; a track with chords gives its top line.
    tracks, _ = parse_cache.encode_file(FLAGS.prime_file,
                                        dataclasses.replace(rules, polyphony='top'))
    tracks = [t for t in tracks if len(t.tokens) >= window_size]
    if not tracks:
      raise UserError(f'--prime_file {FLAGS.prime_file!r} has no non-drum track of at least '
                      f'{window_size} steps (read with --tracks={rules.tracks})')
    return ([t.tokens for t in tracks],
            [encoding.Meter(t.positions, t.bar_lengths, t.beat_units) for t in tracks])
  if FLAGS.data_dir:
    records = dataset.load_corpus(FLAGS.data_dir, window_size, FLAGS.cache_dir,
                                  1, console.log, rules).records
  elif model.stored_primes is not None:
    if len(model.stored_primes[0]) == 0:
      raise UserError(f'{model.description} stores no prime windows: pass --prime_file, '
                      '--primer_notes or --data_dir')
    return list(model.stored_primes[0]), list(model.stored_primes[1])
  else:
    records = parse_cache.read_records(experiment.validation_files(model.experiment_dir),
                                       FLAGS.cache_dir, 1, console.log, rules)
  tracks, meters = cached_tracks.all_tracks_and_meters(records, window_size)
  if not tracks:
    raise UserError(f'the validation files of {model.experiment_dir} are gone: pass --data_dir, '
                    '--prime_file or --primer_notes')
  return tracks, meters


def choose_primers(model: LoadedModel, rng: np.random.Generator) -> list[priming.Primer]:
  """One primer per output file: the --primer_notes (taken to start on a 4/4 bar line), or
  random windows. A model with tune ends starts each melody as a tune starts: with the
  --primer_notes as the tune's opening, or the openings of tracks of the --prime_file or
  --data_dir, or only where one of those (or of the model file's stored openings) starts in
  its bar."""
  tune_ends = model.config.get('tune_ends', False)
  window_size = model.config['window_size']
  if FLAGS.primer_notes is not None:
    bar_length = 4 * model.config['steps_per_quarter']
    primers = [priming.primer_on_downbeat(priming.parse_primer(FLAGS.primer_notes),
                                          bar_length)] * FLAGS.num_files
    return [priming.as_tune_opening(p) for p in primers] if tune_ends else primers
  if tune_ends:
    opening = window_size if FLAGS.prime_file or FLAGS.data_dir else 0
    return [priming.as_tune_opening(p, opening) for p in priming.openings(
        *prime_tracks(model), FLAGS.num_files, window_size, rng)]
  return priming.choose_primes(*prime_tracks(model), FLAGS.num_files, window_size, rng)


def tune_of(tokens: np.ndarray) -> np.ndarray:
  """A sampled tune up to its end (all of it when the model did not end it)."""
  return tokens[:priming.tune_length(tokens)]


def next_file_number(save_dir: str) -> int:
  """Numbers continue after the files already there, so earlier output is kept."""
  numbers = [int(m.group(1)) for n in os.listdir(save_dir) if (m := re.fullmatch(r'(\d+)\.mid', n))]
  return max(numbers, default=0) + 1


def write_midi(midi: miditoolkit.MidiFile, path: str) -> None:
  files.write_atomically(path, lambda f: midi.dump(file=f), '--save_dir file')


def print_instruments() -> None:
  for program, name in enumerate(instruments.GENERAL_MIDI):
    print(f'{program:3d}  {name}')


def main(argv):
  del argv  # cli.run rejects stray arguments.
  if FLAGS.list_instruments:
    print_instruments()
    return
  program = instruments.program_number(FLAGS.midi_instrument)
  samplers.key_root(FLAGS.key)  # A bad key is refused with any scale, chromatic too.
  if FLAGS.file_length > priming.MAX_STEPS:
    raise UserError(f'--file_length {FLAGS.file_length} is over {priming.MAX_STEPS:,} '
                    'steps: sample shorter files')
  if FLAGS.primer_notes is not None and not FLAGS.primer_notes.strip():
    raise UserError('--primer_notes is empty: give notes such as "D4,E4,F#4:2", or leave the '
                    'flag out')
  if FLAGS.prime_file is not None and not os.path.isfile(FLAGS.prime_file):
    raise UserError(f'--prime_file {FLAGS.prime_file!r} is not a file')
  model = load_model()
  tune_ends = model.config.get('tune_ends', False)
  if FLAGS.home_ending != 1 and not (tune_ends and model.config.get('bar_position', False)):
    raise UserError(f'--home_ending needs a model trained with --tune_ends and --bar_position; '
                    f'{model.description} was not')
  if FLAGS.min_length and not tune_ends:
    raise UserError(f'--min_length needs a model trained with --tune_ends; {model.description} '
                    'was not')
  if FLAGS['redraws'].present and FLAGS.redraws and not tune_ends:
    raise UserError(f'--redraws needs a model trained with --tune_ends; {model.description} '
                    'was not')
  allowed = (samplers.scale_mask(FLAGS.key, FLAGS.scale, tune_ends)
             if FLAGS.scale != 'chromatic' else None)
  save_dir = FLAGS.save_dir or (os.path.join(model.experiment_dir, 'generated')
                                if model.experiment_dir else 'generated')
  cli.check_output_folder(save_dir, '--save_dir')  # Before sampling, not after.
  seed = FLAGS.seed if FLAGS.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
  mode = modes.of(model.config)
  console.log(f'{model.description} ({mode.name} mode), seed {seed}')

  window_size = model.config['window_size']
  primers = choose_primers(model, np.random.default_rng(seed))
  primes, bar_positions = priming.stack_primes(
      [priming.prime_for(mode, p, window_size) for p in primers], FLAGS.file_length)
  # Only the sequence sampler takes it (a window model has no tune ends).
  end_rules = ({'end_rules': samplers.EndRules(FLAGS.home_ending, FLAGS.min_length)}
               if tune_ends else {})
  sample = samplers.SAMPLERS[mode.name](model.graphdef, FLAGS.file_length, FLAGS.temperature,
                                        top_k=FLAGS.top_k, top_p=FLAGS.top_p, allowed=allowed,
                                        **end_rules)
  key = jax.random.key(seed)
  sampled = sample(model.params, primes, key, bar_positions)
  melodies, shares = list(np.asarray(sampled.tokens)), list(np.asarray(sampled.scale_share))
  redrawn = set()
  for attempt in range(1, FLAGS.redraws + 1 if tune_ends else 1):
    degenerate = [i for i, m in enumerate(melodies) if stats.degeneration(tune_of(m))]
    if not degenerate:
      break
    # The whole batch again (its shape compiled already), kept for the degenerate rows only.
    again = sample(model.params, primes, jax.random.fold_in(key, attempt), bar_positions)
    for i in degenerate:
      melodies[i], shares[i] = np.asarray(again.tokens[i]), np.asarray(again.scale_share[i])
    redrawn.update(degenerate)
  lengths = [priming.tune_length(m) if tune_ends else None for m in melodies]
  if tune_ends:  # A tune ends where the model ends it.
    melodies = [m[:n] for m, n in zip(melodies, lengths)]
    shares = [s[:len(m)] for s, m in zip(shares, melodies)]

  os.makedirs(save_dir, exist_ok=True)
  first = next_file_number(save_dir)
  names = [f'{number:02d}.mid' for number in range(first, first + len(melodies))]
  written = []
  for name, primer, melody, positions, length in zip(names, primers, melodies, bar_positions,
                                                     lengths):
    opening = int(tune_ends)  # The tune-start mark is not a step of the file.
    tokens = (np.concatenate([primer.tokens[opening:], melody]) if FLAGS.include_primer
              else melody)
    if not tokens.any():  # All rests: a MIDI file would hold no note, and no track to read.
      continue
    # A model that knows the bars: its melody is written on them (in the primer's meter).
    bars = dict(first_position=int(primer.positions[opening] if FLAGS.include_primer
                                   and len(primer.tokens) > opening
                                   else positions[primes.shape[1]]),
                bar_length=primer.bar_length, beat_unit=primer.beat_unit
                ) if model.config.get('bar_position') else {}
    midi = melody_file.tokens_to_midi(
        tokens, program=program, bpm=FLAGS.bpm, velocity=FLAGS.velocity,
        steps_per_quarter=model.config['steps_per_quarter'], tune_ended=length is not None,
        **bars)
    path = os.path.join(save_dir, name)
    write_midi(midi, path)
    written.append((name, len(tokens), length is not None))
    if FLAGS.render:
      render.write_beside(path, tokens, bpm=FLAGS.bpm,
                          steps_per_quarter=model.config['steps_per_quarter'])
  if written:
    console.log(sample_messages.written_line(
        [n for n, _, _ in written], [steps for _, steps, _ in written], save_dir,
        defaulted=FLAGS.save_dir is None and model.experiment_dir is None, render=FLAGS.render,
        ended=sum(e for _, _, e in written) if tune_ends else None))
  if redrawn:
    console.log(f'{len(redrawn)} of {len(names)} tunes came out degenerate and were drawn again: '
                + ', '.join(names[i] for i in sorted(redrawn)))
  silent = [name for name in names if name not in {n for n, _, _ in written}]
  if silent:
    console.log(f'warning: {len(silent)} of {len(names)} melodies are all rests, not written: '
                f'{", ".join(silent)}')
  kept = [i for i, name in enumerate(names) if name not in silent]
  for line in sample_messages.output_warnings(
      [names[i] for i in kept], [melodies[i] for i in kept],
      np.concatenate([shares[i] for i in kept] or [np.ones(0)]), FLAGS.temperature,
      FLAGS.key, FLAGS.scale):
    console.log(line)


if __name__ == '__main__':
  cli.run(main)
