"""Ctrl-C (SIGINT) or SIGTERM during a command's imports, which take seconds, stops it with one
line and exit code 130 or 143, as it does later on (``cli.run`` takes over once the command
runs); also where a shell started the command with SIGINT ignored (in the background). Each
command calls ``install`` first thing when run as ``__main__``: not when a parse worker imports
its module (as ``__mp_main__``), since the workers keep SIGINT ignored."""

import os
import signal
import sys


def _stop(signum, frame):
  del frame
  print(f'interrupted by {signal.Signals(signum).name}', file=sys.stderr, flush=True)
  # At once, with no interpreter teardown: nothing is written yet, and unwinding a half-done
  # import of a compiled module (jaxlib) can crash the teardown.
  os._exit(128 + signum)  # pylint: disable=protected-access


def install() -> None:
  for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, _stop)
