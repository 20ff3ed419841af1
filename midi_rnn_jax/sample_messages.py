"""What ``sample`` tells about the files it wrote: the line naming them, and the warnings when
the settings, not the model, made them poor. Pure: strings from values."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from midi_rnn_jax.evaluation import stats

# When --scale removes most of the model's probability at more than this share of the steps,
# the melodies fill with rests and held notes: warn.
SCALE_STARVED_WARNING = 0.01


def written_line(names: list[str], steps: list[int], save_dir: str, *, defaulted: bool,
                 render: bool, ended: int | None = None) -> str:
  """``wrote 10 melodies of 1000 steps (01.mid to 10.mid; .mid, .png, .wav) in /abs/dir``;
  for a model with tune ends (``ended``: how many it ended), ``wrote 10 tunes of 96-512 steps
  (01.mid to 10.mid; .mid; 9 of 10 ended by the model, the others cut at --file_length) ...``."""
  what = ('melody' if len(names) == 1 else 'melodies') if ended is None else (
      'tune' if len(names) == 1 else 'tunes')
  span = names[0] if len(names) == 1 else f'{names[0]} to {names[-1]}'
  kinds = '.mid, .png, .wav' if render else '.mid'
  lengths = f'{min(steps)}' if min(steps) == max(steps) else f'{min(steps)}-{max(steps)}'
  ending = ('' if ended is None else f'; {ended} of {len(names)} ended by the model'
            + (', the others cut at --file_length' if ended < len(names) else ''))
  line = (f'wrote {len(names)} {what} of {lengths} steps ({span}; {kinds}{ending}) in '
          f'{os.path.abspath(save_dir)}')
  if defaulted and not os.path.isabs(save_dir):
    line += f' (no --save_dir: {save_dir}/ under the current folder)'
  return line


def output_warnings(names: Sequence[str], melodies: Sequence[np.ndarray],
                    scale_share: np.ndarray, temperature: float, key: str, scale: str
                    ) -> list[str]:
  """Degenerate melodies (low temperatures), and how much of the model's probability the
  --scale kept (``scale_share``: per sampled step)."""
  lines = []
  faults = [(name, fault) for name, melody in zip(names, melodies)
            if (fault := stats.degeneration(melody))]
  if faults:
    listed = '; '.join(f'{name}: {fault}' for name, fault in faults[:5])
    more = f'; and {len(faults) - 5} more' if len(faults) > 5 else ''
    hint = (f' (at --temperature {temperature:g} the model repeats its most likely step: '
            'try 0.9-1.1, with --top_k 10 for safer melodies)' if temperature < 0.8 else '')
    lines.append(f'warning: {len(faults)} of {len(names)} melodies are degenerate: '
                 f'{listed}{more}{hint}')
  if scale != 'chromatic' and len(scale_share):
    starved = float(np.mean(scale_share < 0.5))
    line = (f'--key {key} --scale {scale} kept {scale_share.mean():.0%} of the model\'s '
            f'probability on average, and less than half of it at {starved:.1%} of the steps')
    lines.append(f'warning: {line}: expect rests and held notes where the model left the '
                 'scale; another key or scale may fit it better'
                 if starved > SCALE_STARVED_WARNING else line)
  return lines
