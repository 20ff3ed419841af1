r"""Generate melodies from a trained experiment.

  python -m midi_rnn_jax.sample                      # latest experiment, 10 files
  python -m midi_rnn_jax.sample --experiment_dir experiments/03 --num_files 3 \
      --file_length 256 --prime_file tune.mid --midi_instrument Flute --seed 7

Flags keep the names and defaults of the original midi-rnn; --temperature,
--seed and --checkpoint are new.
"""

from __future__ import annotations

import os
import re
import sys

import jax
import miditoolkit
import numpy as np
from absl import flags
from flax import nnx

from midi_rnn_jax import cli, encoding, experiment, input_pipeline, instruments, sampling, training
from midi_rnn_jax.errors import UserError

flags.DEFINE_string('experiment_dir', None, 'Experiment to load the model from (default: the most '
                    'recent folder in experiments/).')
flags.DEFINE_string('save_dir', None, 'Folder for the generated files (default: generated/ inside '
                    '--experiment_dir).')
flags.DEFINE_string('midi_instrument', 'Acoustic Grand Piano', 'General MIDI instrument of the '
                    'output: a name (any case) or a program number 0-127.')
flags.DEFINE_integer('num_files', 10, 'Number of MIDI files to generate.', lower_bound=1)
flags.DEFINE_integer('file_length', 1000, 'Length of each generated file, in 16th notes.',
                     lower_bound=1)
flags.DEFINE_string('prime_file', None, 'A .mid file whose random windows seed the melodies.')
flags.DEFINE_string('data_dir', None, 'Folder of .mid files whose random windows seed the '
                    'melodies when --prime_file is not given (default: the experiment\'s '
                    'validation files).')
flags.DEFINE_float('temperature', 1.0, 'Softmax temperature: below 1 is safer, above 1 wilder, '
                   '0 always takes the most likely step.', lower_bound=0.0)
flags.DEFINE_integer('seed', None, 'Seed of the prime choice and the sampling; the same seed '
                     'gives the same files (default: a random seed, printed).')
flags.DEFINE_enum('checkpoint', 'best', ['best', 'latest'], 'Which checkpoint to load: the best '
                  'by validation loss, or the last epoch.')
flags.DEFINE_string('cache_dir', input_pipeline.DEFAULT_CACHE_DIR,
                    'Folder of the parsed-token cache.')

FLAGS = flags.FLAGS


def prime_tracks(config: dict, experiment_dir: str) -> list[np.ndarray]:
  """Token tracks to draw prime windows from, as the flags choose."""
  window_size = config['window_size']
  if FLAGS.prime_file:
    tracks, _ = input_pipeline.encode_file(FLAGS.prime_file)
    tracks = [t.tokens for t in tracks if len(t.tokens) >= window_size]
    if not tracks:
      raise UserError(f'--prime_file {FLAGS.prime_file!r} has no monophonic, non-drum track of '
                      f'at least {window_size} steps')
    return tracks
  if FLAGS.data_dir:
    records, _ = input_pipeline.load_corpus(FLAGS.data_dir, window_size, FLAGS.cache_dir,
                                            n_jobs=1, warn=cli.log)
  else:
    split = experiment.read_json(os.path.join(experiment_dir, experiment.SPLIT_FILE))
    paths = [p for p in split['validation'] or split['train'] if os.path.isfile(p)]
    records = input_pipeline.read_records(paths, FLAGS.cache_dir, n_jobs=1, warn=cli.log)
    records = [r for r in records if r.usable(window_size).any()]
    if not records:
      raise UserError(f'the validation files of {experiment_dir} are gone: pass --data_dir or '
                      '--prime_file')
  return [t for r in records for t in input_pipeline.load_tracks(r, window_size)]


def next_file_number(save_dir: str) -> int:
  """Numbers continue after the files already there, so earlier output is kept."""
  numbers = [int(m.group(1)) for n in os.listdir(save_dir) if (m := re.fullmatch(r'(\d+)\.mid', n))]
  return max(numbers, default=0) + 1


def write_midi(midi: miditoolkit.MidiFile, path: str) -> None:
  temporary = f'{path}.tmp'
  midi.dump(temporary)
  os.replace(temporary, path)


def main(argv):
  del argv  # cli.run rejects stray arguments.
  program = instruments.program_number(FLAGS.midi_instrument)
  experiment_dir = FLAGS.experiment_dir or experiment.latest_experiment_dir()
  config = experiment.load_config(experiment_dir)
  seed = FLAGS.seed if FLAGS.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
  cli.log(f'experiment {experiment_dir}, seed {seed}')

  model = training.build_model(config['rnn_size'], config['num_layers'], config['dropout'], seed=0)
  graphdef, abstract_params = nnx.split(model, nnx.Param)
  params = experiment.restore_params(experiment_dir, abstract_params, FLAGS.checkpoint)
  rng = np.random.default_rng(seed)
  primes = sampling.choose_primes(prime_tracks(config, experiment_dir), FLAGS.num_files,
                                  config['window_size'], rng)
  sample = sampling.make_sampler(graphdef, FLAGS.file_length, FLAGS.temperature)
  melodies = np.asarray(sample(params, primes, jax.random.key(seed)))

  save_dir = FLAGS.save_dir or os.path.join(experiment_dir, 'generated')
  os.makedirs(save_dir, exist_ok=True)
  first = next_file_number(save_dir)
  for number, melody in enumerate(melodies, start=first):
    path = os.path.join(save_dir, f'{number:02d}.mid')
    write_midi(encoding.tokens_to_midi(melody, program=program), path)
  cli.log(f'wrote {len(melodies)} files of {FLAGS.file_length} steps to {save_dir} '
      f'({first:02d}.mid to {first + len(melodies) - 1:02d}.mid)')


if __name__ == '__main__':
  cli.run(main)
