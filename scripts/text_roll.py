"""A text piano roll of a melody that sample wrote, read as `report` reads it: one row per pitch
it plays (highest first), one column per step, `|` where a bar begins and nothing sounds there,
the bar numbers below (the README's picture).

  python scripts/text_roll.py FILE.mid [FILE.mid ...]
"""

import os
import sys

import numpy as np

from midi_rnn_jax import report
from midi_rnn_jax.data import encoding
from midi_rnn_jax.errors import UserError
from midi_rnn_jax.evaluation import stats

SOUNDING, SILENT, BAR_LINE = '█', '·', '|'


def pitch_name(pitch: int) -> str:
  """C4 is MIDI pitch 60."""
  return f'{stats.PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}'


def text_roll(tokens: np.ndarray, positions: np.ndarray) -> list[str]:
  """The roll's lines: a row per pitch of ``tokens`` (token = pitch + 1; encoding.REST rests),
  then the number of each bar under its first step (the steps before the first bar line are a
  pickup)."""
  tokens, starts = np.asarray(tokens), np.asarray(positions) == 0
  pitches = sorted({int(t) - 1 for t in tokens if t != encoding.REST}, reverse=True)
  width = max(len(pitch_name(p)) for p in pitches) if pitches else 0
  lines = [f'{pitch_name(p):>{width}} ' + ''.join(
      SOUNDING if token == p + 1 else BAR_LINE if start else SILENT
      for token, start in zip(tokens, starts)) for p in pitches]
  numbers = [' '] * len(tokens)
  for bar, step in enumerate(np.flatnonzero(starts), 1):
    label = str(bar)
    if all(c == ' ' for c in numbers[max(step - 1, 0):step + len(label)]):
      numbers[step:step + len(label)] = label
  return lines + [' ' * (width + 1) + ''.join(numbers[:len(tokens)]).rstrip()]


def file_roll(path: str) -> list[str]:
  """``text_roll`` of the melody sample wrote to ``path`` (read as report reads it)."""
  if not os.path.isfile(path):  # A FIFO would block the reader for ever.
    raise UserError(f'{path!r} is not a file')
  melody = report.generated_melody(path, encoding.STEPS_PER_QUARTER)
  if melody is None:
    raise UserError(f'{path!r} holds no melody')
  return text_roll(melody.tokens, melody.meter.positions)


if __name__ == '__main__':
  try:
    for argument in sys.argv[1:]:
      print('\n'.join(file_roll(argument)), end='\n\n')
  except UserError as error:
    print(f'error: {error}', file=sys.stderr)
    sys.exit(2)
