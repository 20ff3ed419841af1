"""What the command-line entry points share: console lines and a clean exit on bad input."""

from __future__ import annotations

import functools
import sys

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
