"""Where the repeats are: an experiment's validation tunes against generated tunes, pooled over
their bars. The bars that repeat an earlier bar, by how many bars back the nearest equal bar is;
the 8-bar parts that repeat an earlier part, by the same; and how often a strain's second time
through copies its last bar too (after 7 bars each equal to the bar 8 back, the share of next
bars that are): a folk tune's second ending differs from its first.

  python scripts/repeat_distances.py EXPERIMENT GENERATED_DIRS [GENERATED_DIRS ...]

GENERATED_DIRS: a folder of sample's tunes, or a quoted glob of such folders pooled in one row
('reproduced/tunes/seed*').
"""

import collections
import glob
import sys

import numpy as np

from midi_rnn_jax import console, experiment, report
from midi_rnn_jax.evaluation import tunes

BAR_DISTANCES = (1, 2, 3, 4, 6, 8, 12, 16)
PART_DISTANCES = (8, 16)
STRAIN_BARS = 8


def bar_distances(bars: list[tuple]) -> list[int | None]:
  """For each bar after the first that counts (stats.repeated_bars: a bar of one held token or
  silence does not), how many bars back the nearest equal bar is (None: none is)."""
  last_seen, distances = {}, []
  for i, bar in enumerate(bars):
    if len(set(bar)) > 1:
      if last_seen:
        distances.append(i - last_seen[bar] if bar in last_seen else None)
      last_seen[bar] = i
  return distances


def part_distances(bars: list[tuple], part_bars: int = STRAIN_BARS) -> list[int | None]:
  """The nearest-repeat distance of each part of ``part_bars`` bars starting at a bar line,
  among the parts that end before it starts (tunes.part_repetition's parts)."""
  parts = [tuple(bars[i:i + part_bars]) for i in range(len(bars) - part_bars + 1)]
  return [next((back for back in range(part_bars, i + 1) if parts[i - back] == parts[i]), None)
          for i in range(part_bars, len(parts))]


def strain_last_bars(repeats_strain: list[bool]) -> list[int]:
  """Of bars each said to equal the bar STRAIN_BARS back or not, the indices of those after
  STRAIN_BARS - 1 bars in a row that do: the last bar of a strain's second time through."""
  return [i for i in range(STRAIN_BARS - 1, len(repeats_strain))
          if all(repeats_strain[i - STRAIN_BARS + 1:i])]


def strain_endings(bars: list[tuple]) -> tuple[int, int]:
  """(bars that follow 7 bars each equal to the bar 8 back, those of them that are too); the
  last bar, which may be short, is left out."""
  same = [i >= STRAIN_BARS and bars[i] == bars[i - STRAIN_BARS] for i in range(len(bars) - 1)]
  after = strain_last_bars(same)
  return len(after), sum(same[i] for i in after)


def shares(distances: list, keys: tuple[int, ...]) -> list[float]:
  """The share of ``distances`` equal to each key, then to any other distance."""
  counts = collections.Counter(distances)
  total = max(len(distances), 1)
  others = sum(n for d, n in counts.items() if d is not None and d not in keys)
  return [counts[k] / total for k in keys] + [others / total]


def row(name: str, pairs: list) -> str:
  bars = [tunes.bars_of(tokens, meter.positions) for tokens, meter in pairs]
  by_bar = [d for b in bars for d in bar_distances(b)]
  by_part = [d for b in bars for d in part_distances(b)]
  followed, copied = np.sum([strain_endings(b) for b in bars], axis=0)
  cells = ([f'{len(pairs)}', f'{np.mean([d is not None for d in by_bar]):.3f}']
           + [f'{s:.3f}' for s in shares(by_bar, BAR_DISTANCES)]
           + [f'{np.mean([d is not None for d in by_part]):.3f}']
           + [f'{s:.3f}' for s in shares(by_part, PART_DISTANCES)]
           + [f'{copied / max(followed, 1):.2f} of {followed}'])
  return f'| {name} | ' + ' | '.join(cells) + ' |'


def print_table(header: str, columns: int, row_of, arguments: list[str]) -> None:
  """A table with a row (``row_of(name, [(tokens, meter), ...])``) for the validation tunes of
  the experiment ``arguments[0]``, then for each glob of generated folders after it."""
  experiment_dir, *generated_dirs = arguments
  config = experiment.load_config(experiment_dir)
  print(header)
  print('|---' * columns + '|')
  print(row_of('validation', list(zip(*experiment.validation_tunes(
      experiment_dir, config, config['cache_dir'], console.log)))))
  for pattern in generated_dirs:
    print(row_of(pattern, [(m.tokens, m.meter) for folder in sorted(glob.glob(pattern))
                           for m in report.generated_melodies(
                               folder, config['steps_per_quarter']).values()]))


if __name__ == '__main__':
  print_table('| tunes | count | bars repeating an earlier bar | '
              + ' | '.join(f'{d} back' for d in BAR_DISTANCES) + ' | further | 8-bar parts '
              'repeating one | ' + ' | '.join(f'{d} back' for d in PART_DISTANCES)
              + ' | elsewhere | 8th bar of a strain copied too |',
              7 + len(BAR_DISTANCES) + len(PART_DISTANCES), row, sys.argv[1:])
