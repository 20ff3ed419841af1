r"""Export an experiment as one self-contained model file.

  python -m midi_rnn_jax.export --experiment_dir experiments/03 --out folk.msgpack
  python -m midi_rnn_jax.sample --model folk.msgpack

The file holds the parameters, the config (architecture, grid) and the encoding
version, plus prime windows from the experiment's validation files, so it samples
on a machine that has neither the experiment nor any MIDI.
"""

from __future__ import annotations

import numpy as np
from absl import flags
from flax import nnx

from midi_rnn_jax import cli, experiment, input_pipeline, sampling

flags.DEFINE_string('experiment_dir', None, 'Experiment to export (default: the most recent in '
                    'experiments/).')
flags.DEFINE_string('out', None, 'Path of the model file to write (.msgpack).', required=True)
cli.define_checkpoint_flag()
flags.DEFINE_integer('num_primes', 64, 'Prime windows to store, drawn from the validation files.',
                     lower_bound=0)
cli.define_cache_dir_flag()

FLAGS = flags.FLAGS


def main(argv):
  del argv  # cli.run rejects stray arguments.
  experiment_dir = FLAGS.experiment_dir or experiment.latest_experiment_dir()
  config, _, params = experiment.load_model(experiment_dir, FLAGS.checkpoint)
  window_size = config['window_size']
  tracks = input_pipeline.usable_tracks(
      experiment.validation_files(experiment_dir), window_size, FLAGS.cache_dir,
      config['steps_per_quarter'], cli.log)
  if tracks and FLAGS.num_primes:
    primes = sampling.choose_primes(tracks, FLAGS.num_primes, window_size,
                                    np.random.default_rng(0))
  else:
    cli.log('warning: no validation files left to draw prime windows from; the model file '
            'will need --prime_file, --primer_notes or --data_dir to sample')
    primes = np.zeros((0, window_size), np.uint8)
  experiment.write_model_file(FLAGS.out, config, nnx.to_pure_dict(params), primes)
  cli.log(f'wrote {FLAGS.out}: {experiment_dir} ({FLAGS.checkpoint} checkpoint), '
          f'{len(primes)} prime windows')


if __name__ == '__main__':
  cli.run(main)
