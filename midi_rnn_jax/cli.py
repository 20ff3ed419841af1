"""What the command-line entry points share: console lines and a clean exit on bad input."""

from __future__ import annotations

import functools
import sys

import jax
from absl import app, flags, logging

from midi_rnn_jax import input_pipeline
from midi_rnn_jax.errors import UserError


def define_cache_dir_flag() -> None:
  """--cache_dir, for every command that reads MIDI folders."""
  flags.DEFINE_string('cache_dir', input_pipeline.DEFAULT_CACHE_DIR, 'Folder of the parsed-token cache.')


def define_checkpoint_flag() -> None:
  """--checkpoint, for every command that loads an experiment's parameters."""
  flags.DEFINE_enum('checkpoint', 'best', ['best', 'latest'], 'Which checkpoint to load: the '
                    'best by validation loss, or the last epoch.')


def define_cpu_devices_flag() -> None:
  """--cpu_devices, for the commands that train."""
  flags.DEFINE_integer('cpu_devices', 1, 'On a CPU, split the cores into this many JAX devices '
                       'and train data-parallel across them (each batch is split, the gradients '
                       'summed: the same maths). On 2 cores, 2 trained the 256x2 model of the '
                       'benchmark 7% faster and the default model 9% slower. GPUs are used as they '
                       'are: as many as evenly divide --batch_size.', lower_bound=1)


def split_cpu_into_devices(count: int) -> None:
  """Makes ``count`` JAX devices of the CPU; must run before JAX's first computation."""
  jax.config.update('jax_num_cpu_devices', count)


def log(message: str) -> None:
  print(message, file=sys.stderr, flush=True)


def run(main) -> None:
  """``app.run(main)``, printing a UserError as ``error: ...`` (exit code 2) and
  keeping the libraries' INFO logs (orbax writes dozens per checkpoint) off the
  console unless ``--verbosity`` asks for them."""

  @functools.wraps(main)
  def guarded(argv):
    if len(argv) > 1:
      raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
    if not flags.FLAGS['verbosity'].present:
      logging.set_verbosity(logging.WARNING)
    try:
      return main(argv)
    except UserError as error:
      log(f'error: {error}')
      sys.exit(2)

  app.run(guarded)
