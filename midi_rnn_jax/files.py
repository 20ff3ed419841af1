"""Output files written whole or not at all, never over something that is not a regular file."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from typing import BinaryIO

from midi_rnn_jax.errors import UserError


def refuse_unless_replaceable(path: str, what: str) -> None:
  """A UserError when ``path`` exists and is not a regular file (so it must not be replaced)."""
  try:
    mode = os.lstat(path).st_mode
  except FileNotFoundError:
    return
  except OSError as error:
    raise UserError(f'{what} {path!r} cannot be written: {error.strerror}') from None
  if not stat.S_ISREG(mode):
    raise UserError(f'{what} {path!r} exists and is not a regular file: it is left as it is')


def write_atomically(path: str, write: Callable[[BinaryIO], None], what: str = 'output') -> None:
  """Writes ``path`` through ``write`` into a temporary file beside it, renamed over ``path``
  only once complete and on disk. A UserError naming ``what`` and the path, with the file
  left as it was, when ``path`` is something other than a regular file (a device, a FIFO, a
  socket, a link) or when the write fails (a missing or read-only folder, a full disk)."""
  refuse_unless_replaceable(path, what)
  temporary = f'{path}.{os.getpid()}.tmp'
  try:
    with open(temporary, 'xb') as f:
      write(f)
      f.flush()
      os.fsync(f.fileno())
    os.replace(temporary, path)
  except OSError as error:
    with contextlib.suppress(OSError):
      os.remove(temporary)
    raise UserError(f'{what} {path!r} cannot be written: {error.strerror or error}') from None
