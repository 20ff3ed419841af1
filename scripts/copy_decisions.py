"""A copy_bars model's bar decisions read teacher forced: over every bar line, its mean chance of
a copy beside the share of bars that are copies; and at the last bar of a strain's second time
through (a bar line after 7 bars each equal to the bar 8 back), its chance of copying the bar
8 back beside the share that do. On the validation tunes and on generated tunes (its own),
it tells a decision that is wrong on the tunes from one led elsewhere by its own notes.

  python scripts/copy_decisions.py EXPERIMENT [GENERATED_DIRS ...]

GENERATED_DIRS: a folder of sample's tunes, or a quoted glob of such folders pooled in one row.
"""

import glob
import sys

import jax
import numpy as np
from flax import nnx

from end_placement import one_track_outputs, tunes_in
from midi_rnn_jax import console, experiment
from midi_rnn_jax.data import bar_copies, model_inputs
from midi_rnn_jax.data.model_inputs import LOOKBACK_BARS
from repeat_distances import STRAIN_BARS, strain_last_bars

COPY_STRAIN = 1 + LOOKBACK_BARS.index(STRAIN_BARS)  # The decision's option "copy 8 back".


def decisions(outputs, form_decisions: bool, model_track) -> tuple[np.ndarray, np.ndarray]:
  """(bar lines, NUM_OPTIONS) probabilities (a last bar's as a new bar's: bar_copies.drawn_as)
  and options fitted at each bar line of one tune (its end left out)."""
  targets = bar_copies.copy_targets(model_track.tokens, model_track.bar_position,
                                    form_decisions)
  lines = np.flatnonzero(targets)[:-1]
  p = np.asarray(jax.nn.softmax(outputs(model_track)[1]))[0]
  return bar_copies.drawn_as(p[lines]), bar_copies.option_sets(targets[lines])


def row(name: str, outputs, form_decisions: bool, names, tracks, meters) -> str:
  chances, copies, strain_chances, strain_copies = [], [], [], []
  for tokens, meter in zip(tracks, meters):
    p, fits = decisions(outputs, form_decisions,
                        model_inputs.model_track(tokens, meter, names, True))
    chances.append(1 - p[:, bar_copies.NEW_BAR])
    copies.append(~fits[:, bar_copies.NEW_BAR])
    copied = fits[:, COPY_STRAIN]
    after = strain_last_bars(list(copied))
    strain_chances.append(p[after, COPY_STRAIN])
    strain_copies.append(copied[after])
  chances, copies, strain_chances, strain_copies = map(
      np.concatenate, (chances, copies, strain_chances, strain_copies))
  return (f'| {name} | {len(tracks)} | {len(chances)} | {copies.mean():.3f} | '
          f'{chances.mean():.3f} | {len(strain_copies)} | {strain_copies.mean():.2f} | '
          f'{strain_chances.mean():.2f} |')


if __name__ == '__main__':
  experiment_dir, *generated_dirs = sys.argv[1:]
  config, graphdef, params = experiment.load_model(experiment_dir, 'best')
  model = nnx.merge(graphdef, params)
  if model.bar_copy_head is None:
    print(f'error: {experiment_dir} is no copy_bars model', file=sys.stderr)
    sys.exit(2)  # As the tool's own error lines.
  outputs = one_track_outputs(model)
  names = model_inputs.of_config(config)
  print('| tunes | count | bar lines | copies | mean chance of a copy | strains\' last bars | '
        'copied 8 back | mean chance of that copy |')
  print('|---' * 8 + '|')
  print(row('validation', outputs, model.form_decisions, names, *experiment.validation_tunes(
      experiment_dir, config, config['cache_dir'], console.log)))
  for pattern in generated_dirs:
    read = [tunes_in(folder, config) for folder in sorted(glob.glob(pattern))]
    print(row(pattern, outputs, model.form_decisions, names,
              *(sum(column, []) for column in zip(*read))))
