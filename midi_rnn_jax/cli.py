"""What the command-line entry points share: flags, checks of output paths, and a clean exit on
bad input or a signal."""

from __future__ import annotations

import functools
import os
import signal
import sys

from absl import app, flags, logging

from midi_rnn_jax import console, files
from midi_rnn_jax.data import melody_lines, parse_cache, track_choice
from midi_rnn_jax.errors import UserError


def define_cache_dir_flag() -> None:
  """--cache_dir, for every command that reads MIDI folders."""
  flags.DEFINE_string('cache_dir', parse_cache.DEFAULT_CACHE_DIR,
                      'Folder of the parsed-token cache.')


def define_reading_flags() -> None:
  """--polyphony and --tracks: how train reads MIDI files into melody lines (evaluate, report
  and sample read them as the experiment was trained)."""
  flags.DEFINE_enum('polyphony', 'skip', list(melody_lines.POLYPHONY), 'What a track with '
                    'chords (notes that start on one grid step) or a note held under others '
                    'becomes: skip: left out (the original\'s rule); top: its highest line '
                    '(the skyline). Legato overlaps are never chords.')
  flags.DEFINE_string('tracks', track_choice.ALL, 'Which tracks of each file are read: all; '
                      'melody: the one most likely to carry the melody, judged from its notes '
                      '(none in a file of only a bass line or an accompaniment); or selectors '
                      'such as program:0-7,name:lead (a General MIDI program or range, or a '
                      'text in the track name).')
  flags.register_validator('tracks', lambda value: track_choice.check(value) is None,
                           message='--tracks must be all, melody, or selectors such as '
                           'program:N, program:N-M, name:TEXT (comma-separated)')


def define_checkpoint_flag() -> None:
  """--checkpoint, for every command that loads an experiment's parameters."""
  flags.DEFINE_enum('checkpoint', 'best', ['best', 'latest'], 'Which checkpoint to load: the '
                    'best by validation loss, or the last epoch.')


class Interrupted(BaseException):
  """SIGINT or SIGTERM ended the command; it exits with 128 + the signal's number (130, 143).
  A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it."""

  def __init__(self, signum: int, message: str = ''):
    super().__init__(message)
    self.signum = signum


class StopSignals:
  """SIGINT (Ctrl-C) and SIGTERM raise ``Interrupted`` at once, except while ``deferring``:
  then the first is only recorded in ``received``, for a loop to stop at a safe point (a second
  one still stops at once)."""

  def __init__(self):
    self.received: int | None = None
    self.deferring = False
    for signum in (signal.SIGINT, signal.SIGTERM):
      signal.signal(signum, self._handle)

  def _handle(self, signum, frame):
    del frame
    if self.deferring and self.received is None:
      self.received = signum
      console.log(f'{signal.Signals(signum).name}: stopping after the current step to save a checkpoint '
                  '(send it again to stop at once)')
      return
    raise Interrupted(signum)


def check_output_folder(path: str, flag: str) -> None:
  """A UserError unless ``path`` is, or can be made, a writable folder: checked before any
  slow work, so that work is never lost to a bad output path."""
  if os.path.exists(path) and not os.path.isdir(path):
    raise UserError(f'{flag} {path!r} is a file, not a folder')
  existing = path
  while existing and not os.path.exists(existing):
    existing = os.path.dirname(existing)
  existing = existing or '.'
  if not os.path.isdir(existing):
    raise UserError(f'{flag} {path!r} cannot be made: {existing!r} is a file')
  if not os.access(existing, os.W_OK | os.X_OK):
    raise UserError(f'{flag} {path!r} is not writable ({existing!r} is read-only)')


def check_output_file(path: str, flag: str) -> None:
  """A UserError unless a file can be written at ``path`` (its folder exists and is writable)."""
  folder = os.path.dirname(path) or '.'
  if os.path.isdir(path):
    raise UserError(f'{flag} {path!r} is a folder; give a file name')
  files.refuse_unless_replaceable(path, flag)
  if not os.path.isdir(folder):
    raise UserError(f'{flag} {path!r}: the folder {folder!r} does not exist')
  if not os.access(folder, os.W_OK | os.X_OK):
    raise UserError(f'{flag} {path!r}: the folder {folder!r} is not writable')


def run(main) -> None:
  """``app.run(main)``, printing a UserError as ``error: ...`` (exit code 2), SIGINT and
  SIGTERM as one line (exit codes 130 and 143), and
  keeping the libraries' INFO logs (orbax writes dozens per checkpoint) off the
  console unless ``--verbosity`` asks for them."""

  @functools.wraps(main)
  def guarded(argv):
    if len(argv) > 1:
      raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
    if not flags.FLAGS['verbosity'].present:
      logging.set_verbosity(logging.WARNING)
    StopSignals()  # Ctrl-C or a kill: one line, not a traceback.
    try:
      return main(argv)
    except UserError as error:
      print(f'error: {error}', file=sys.stderr, flush=True)
      sys.exit(2)
    except Interrupted as interrupted:
      console.log(str(interrupted) or f'interrupted by {signal.Signals(interrupted.signum).name}')
      sys.exit(128 + interrupted.signum)

  app.run(guarded)
