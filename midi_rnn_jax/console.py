"""Console lines: every command's messages go to stderr through ``log``."""

import sys

# Set in the processes of a multi-process run other than process 0.
quiet = False


def log(message: str) -> None:
  """A line on the console (stderr), unless this process is ``quiet``."""
  if not quiet:
    print(message, file=sys.stderr, flush=True)
