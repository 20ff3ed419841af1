"""Where tunes end: an experiment's validation tunes against generated tunes. Their lengths
(quantiles, in steps), and of the tunes that reach bar n, the share that end there (n = 8, 16,
24, 32: where strains end), at 16 and 32 apart for the tunes whose 7 bars before each equal
the bar 8 back (a strain's second time through: an AA tune of 8-bar strains may end at 16, an
AABB tune ends at 32). Last, the AA tunes (a strain's second time through at bar 16) and what
follows: the share of them that reach bar 25 (a B strain played once), and of those the share
that play B twice (its second time through at bar 32): how well an AABB tune is planned.

  python scripts/end_bars.py EXPERIMENT GENERATED_DIRS [GENERATED_DIRS ...]

GENERATED_DIRS: a folder of sample's tunes, or a quoted glob of such folders pooled in one row.
"""

import sys

import numpy as np

from midi_rnn_jax.evaluation import tunes
from repeat_distances import STRAIN_BARS, print_table

QUANTILES = (50, 75, 90, 95)
END_BARS = (8, 16, 24, 32)
STRAIN_ENDS = (16, 32)


def second_strain_ends(bars: list[tuple], at: int) -> bool:
  """Whether the STRAIN_BARS - 1 bars before bar ``at`` (from 1) each equal the bar
  STRAIN_BARS back."""
  return at >= 2 * STRAIN_BARS and all(bars[i] == bars[i - STRAIN_BARS]
                                      for i in range(at - STRAIN_BARS, at - 1))


def ended_at(counts: list[int], at: int, where=None) -> str:
  """'ended / reached (share)' of the tunes of ``counts`` bars that reach bar ``at``."""
  reached = [n for n, keep in zip(counts, where or [True] * len(counts)) if n >= at and keep]
  ended = sum(n == at for n in reached)
  return f'{ended / max(len(reached), 1):.2f} of {len(reached)}'


def strains_after_aa(bars: list[list[tuple]]) -> tuple[int, int, int]:
  """Of tunes' ``bars``: (the AA tunes, those of them that reach bar 25, those of these that
  play a second strain twice, through bar 32)."""
  aa = [b for b in bars if len(b) >= 2 * STRAIN_BARS and second_strain_ends(b, 2 * STRAIN_BARS)]
  reach_b = [b for b in aa if len(b) > 3 * STRAIN_BARS]
  return len(aa), len(reach_b), sum(len(b) >= 4 * STRAIN_BARS
                                    and second_strain_ends(b, 4 * STRAIN_BARS) for b in reach_b)


def row(name: str, pairs: list) -> str:
  steps = [len(tokens) for tokens, _ in pairs]
  bars = [tunes.bars_of(tokens, meter.positions) for tokens, meter in pairs]
  counts = [len(b) for b in bars]
  strain = {at: [len(b) >= at and second_strain_ends(b, at) for b in bars] for at in STRAIN_ENDS}
  cells = ([str(len(pairs))] + [f'{q:.0f}' for q in np.percentile(steps, QUANTILES)]
           + [f'{np.mean(np.array(counts) > 32):.3f}']
           + [ended_at(counts, at) for at in END_BARS]
           + [ended_at(counts, at, strain[at]) for at in STRAIN_ENDS])
  aa, reach_b, bb = strains_after_aa(bars)
  cells += [f'{aa / len(pairs):.3f}', f'{reach_b / max(aa, 1):.2f}', f'{bb / max(reach_b, 1):.2f}']
  return f'| {name} | ' + ' | '.join(cells) + ' |'


if __name__ == '__main__':
  print_table('| tunes | count | ' + ' | '.join(f'steps, {q}%' for q in QUANTILES)
              + ' | over 32 bars | ' + ' | '.join(f'end at bar {at}' for at in END_BARS) + ' | '
              + ' | '.join(f'at {at}, after a strain\'s second time' for at in STRAIN_ENDS)
              + ' | AA tunes | of them reach bar 25 | of those play B twice |',
              6 + len(QUANTILES) + len(END_BARS) + len(STRAIN_ENDS), row, sys.argv[1:])
