"""Tune figures by group: the validation tunes of an experiment against generated tunes, per
group of tunes whose most common bar lasts the same number of steps (``--by meter``), or whose
length falls in the same band of steps (``--by length``: whether a figure differs within each
band, or only because the tunes' lengths do), or whose share of steps that begin a note or a
rest falls in the same band (``--by pace``: a song's quarters, a reel's eighths).

  python scripts/tune_groups.py [--by meter|length|pace] EXPERIMENT GENERATED_DIR [...]
"""

import argparse
import bisect
import collections

import numpy as np

from midi_rnn_jax import experiment, report
from midi_rnn_jax.evaluation import tunes

# The length bands' lower edges (steps): from 2 to 32 bars of 4/4.
LENGTH_BANDS = (0, 128, 192, 256, 384, 512)
# The pace bands' lower edges: the share of a tune's steps that differ from the step before.
PACE_BANDS = (0, 0.33, 0.5)
FORM_FIGURES = ('bar_repetition', 'part_repetition_4', 'part_repetition_8')


def band_name(edges, band: int, upper=lambda edge: edge) -> str:
  return f'{edges[band]}-{upper(edges[band + 1])}' if band + 1 < len(edges) else f'{edges[band]}+'


# Per grouping: the group of a tune's (tokens, meter), how a group is named, and its figures.
GROUPINGS = {
    'meter': (lambda tokens, meter: int(np.bincount(np.asarray(meter.bar_lengths)).argmax()),
              lambda steps: f'{steps} steps', ('bar_repetition', 'ends_home')),
    'length': (lambda tokens, meter: bisect.bisect_right(LENGTH_BANDS, len(tokens)) - 1,
               lambda band: band_name(LENGTH_BANDS, band, lambda edge: edge - 1),
               (*FORM_FIGURES, 'ends_home')),
    'pace': (lambda tokens, meter: bisect.bisect_right(
                 PACE_BANDS, np.mean(np.diff(np.asarray(tokens, int)) != 0)) - 1,
             lambda band: band_name(PACE_BANDS, band), FORM_FIGURES),
}


def grouped(pairs, group) -> dict:
  """group -> the tune features of the (tokens, meter) pairs in it."""
  groups = collections.defaultdict(list)
  for tokens, meter in pairs:
    groups[group(tokens, meter)].append(tunes.tune_features(tokens, meter))
  return groups


def figures(features: list[dict], total: int, keys) -> str:
  """The group's share of all tunes, then each figure's mean over the tunes where it is
  defined (with how many those are where fewer than all)."""
  cells = [f'{len(features) / total:.2f}']
  for key in keys:
    values = [f[key] for f in features if f[key] is not None]
    count = f' ({len(values)})' if len(values) < len(features) else ''
    cells.append(f'{np.mean(values):.3f}{count}' if values else '-')
  return ' | '.join(cells)


def main(by: str, experiment_dir: str, generated_dirs: list[str]) -> None:
  group, name, keys = GROUPINGS[by]
  config = experiment.load_config(experiment_dir)
  validation = list(zip(*experiment.validation_tunes(experiment_dir, config,
                                                     config['cache_dir'], print)))
  generated = [(melody.tokens, melody.meter) for folder in generated_dirs
               for melody in report.generated_melodies(folder,
                                                       config['steps_per_quarter']).values()]
  reference, ours = grouped(validation, group), grouped(generated, group)
  labels = ['share of tunes'] + [tunes.SUMMARY_LABELS[key] for key in keys]
  print(f'| {by} | ' + ' | '.join(f'validation: {label}' for label in labels) + ' | '
        + ' | '.join(f'generated: {label}' for label in labels) + ' |')
  print('|---' * (1 + 2 * len(labels)) + '|')
  for key in sorted(set(reference) | set(ours)):
    if min(len(reference[key]), len(ours[key])) >= 10:
      print(f'| {name(key)} | {figures(reference[key], len(validation), keys)} | '
            f'{figures(ours[key], len(generated), keys)} |')


if __name__ == '__main__':
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--by', choices=sorted(GROUPINGS), default='meter')
  parser.add_argument('experiment_dir')
  parser.add_argument('generated_dirs', nargs='+')
  args = parser.parse_args()
  main(args.by, args.experiment_dir, args.generated_dirs)
