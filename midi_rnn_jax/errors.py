"""The one error type for bad input."""


class UserError(Exception):
  """Bad input from the user (a flag, a file, a folder); the message names it.

  The command-line entry points print it as one line and exit with code 2.
  """
