"""Tune figures grouped by bar length: the validation tunes of an experiment against generated
tunes, per group of tunes whose most common bar lasts the same number of steps.

  python scripts/tunes_by_meter.py EXPERIMENT GENERATED_DIR [GENERATED_DIR ...]
"""

import collections
import sys

import numpy as np

from midi_rnn_jax import experiment, report
from midi_rnn_jax.evaluation import tunes


def by_bar_length(pairs) -> dict:
  """bar length (steps) -> the tune features of the (tokens, meter) pairs whose bars mostly
  last that long."""
  groups = collections.defaultdict(list)
  for tokens, meter in pairs:
    groups[int(np.bincount(np.asarray(meter.bar_lengths)).argmax())].append(
        tunes.tune_features(tokens, meter))
  return groups


def figures(features: list[dict], total: int) -> str:
  repeated = [f['bar_repetition'] for f in features if f['bar_repetition'] is not None]
  return (f'{len(features) / total:.2f} | {np.mean(repeated):.3f} | '
          f'{np.mean([f["ends_home"] for f in features]):.3f}')


def main(experiment_dir: str, generated_dirs: list[str]) -> None:
  config = experiment.load_config(experiment_dir)
  validation = list(zip(*experiment.validation_tunes(experiment_dir, config,
                                                     config['cache_dir'], print)))
  generated = [(melody.tokens, melody.meter) for folder in generated_dirs
               for melody in report.generated_melodies(folder,
                                                       config['steps_per_quarter']).values()]
  reference, ours = by_bar_length(validation), by_bar_length(generated)
  print('| bar of (steps) | validation: share of tunes | bars repeated | ends home | '
        'generated: share of tunes | bars repeated | ends home |')
  print('|---' * 7 + '|')
  for steps in sorted(set(reference) | set(ours)):
    if min(len(reference[steps]), len(ours[steps])) >= 10:
      print(f'| {steps} | {figures(reference[steps], len(validation))} | '
            f'{figures(ours[steps], len(generated))} |')


if __name__ == '__main__':
  main(sys.argv[1], sys.argv[2:])
