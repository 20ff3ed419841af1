r"""Export an experiment as one self-contained model file.

  python -m midi_rnn_jax.export --experiment_dir experiments/03 --out folk.msgpack
  python -m midi_rnn_jax.sample --model folk.msgpack

The file holds the parameters, the config (architecture, grid) and the encoding
version, plus prime windows from the experiment's validation files, so it samples
on a machine that has neither the experiment nor any MIDI.
"""

from __future__ import annotations

from midi_rnn_jax import stop_early

if __name__ == '__main__':  # First: Ctrl-C stops even the imports.
  stop_early.install()

# pylint: disable=wrong-import-position

import numpy as np
from absl import flags
from flax import nnx

from midi_rnn_jax import cli, console, experiment
from midi_rnn_jax.data import encoding
from midi_rnn_jax.generate import priming
from midi_rnn_jax.model import model_file

flags.DEFINE_string('experiment_dir', None, 'Experiment to export (default: the most recent in '
                    'experiments/).')
flags.DEFINE_string('out', None, 'Path of the model file to write (.msgpack).', required=True)
cli.define_checkpoint_flag()
flags.DEFINE_integer('num_primes', 64, 'Prime windows to store, drawn from the validation files '
                     '(for a model with tune ends: the tracks\' openings).',
                     lower_bound=0)
cli.define_cache_dir_flag()

FLAGS = flags.FLAGS


def main(argv):
  del argv  # cli.run rejects stray arguments.
  cli.check_output_file(FLAGS.out, '--out')  # Before the slow work, not after.
  experiment_dir = FLAGS.experiment_dir or experiment.latest_experiment_dir()
  config, _, params = experiment.load_model(experiment_dir, FLAGS.checkpoint)
  window_size = config['window_size']
  tracks, meters = experiment.validation_tunes(experiment_dir, config, FLAGS.cache_dir,
                                               console.log)
  if tracks and FLAGS.num_primes:  # A model with tune ends is primed with how tunes open.
    choose = priming.openings if config.get('tune_ends', False) else priming.choose_primes
    primers = choose(tracks, meters, FLAGS.num_primes, window_size, np.random.default_rng(0))
  else:
    console.log('warning: no validation files left to draw prime windows from; the model file '
                'will need --prime_file, --primer_notes or --data_dir to sample')
    primers = []
  primes = np.array([p.tokens for p in primers], np.uint8).reshape(len(primers), window_size)
  meters = [encoding.Meter(p.positions, np.full(window_size, p.bar_length, np.uint8),
                           np.full(window_size, p.beat_unit, np.uint8)) for p in primers]
  model_file.write_model_file(FLAGS.out, config, nnx.to_pure_dict(params), primes, meters)
  console.log(f'wrote {FLAGS.out}: {experiment_dir} ({FLAGS.checkpoint} checkpoint), '
              f'{len(primes)} prime windows')


if __name__ == '__main__':
  cli.run(main)
