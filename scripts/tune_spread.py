"""How far a hundred tunes' figures stray by chance: the Tunes figures (evaluation/tunes.py) of
the generated tunes of several folders pooled, beside the experiment's validation tunes, whole
and as the 5th-95th percentiles over 1,000 random sets of as many tunes as one folder holds
and as all of them hold, and the shares of those sets whose figure is within the issue's
tolerance of the whole's (20% for the median length, 15% for the others; and for the three
form figures at once): how often a hundred (or three hundred) of the tunes themselves would
meet it. Last, the same share for sets of three folders' size (the issue's three seeds) drawn
with replacement from the tunes and from the generated tunes pooled: how often a fresh three
seeds of the model would meet it, beside how often three seeds of a model that wrote the
tunes themselves would.

  python scripts/tune_spread.py reproduced/folk/exp reproduced/tunes/seed0 reproduced/tunes/seed1 ...
"""

import sys

import numpy as np

from midi_rnn_jax import console, experiment, report
from midi_rnn_jax.data import parse_cache
from midi_rnn_jax.evaluation import tunes

FIGURES = ('median_steps', 'ends_home', 'completes_first_bar', 'bar_repetition',
           'part_repetition_4', 'part_repetition_8')
DRAWS = 1000


# The issue's tolerance around the tunes' figure: the median length within 20%, the rest 15%.
TOLERANCE = {key: 0.20 if key == 'median_steps' else 0.15 for key in FIGURES}


# The form figures, which the issue asks within tolerance all at once.
FORM = ('bar_repetition', 'part_repetition_4', 'part_repetition_8')


def spread(features: list[dict], size: int, whole: dict, replace: bool = False
           ) -> dict[str, tuple[float, float, float]]:
  """Each figure's 5th and 95th percentiles over DRAWS random sets of ``size`` of
  ``features`` (drawn with ``replace``ment: fresh draws from where they came from), and the
  share of those sets within TOLERANCE of ``whole``; under 'form', the share of sets whose
  FORM figures are all within it."""
  rng = np.random.default_rng(0)
  draws = [tunes.summary([features[i] for i in rng.choice(len(features), size, replace=replace)])
           for _ in range(DRAWS)]
  within = {key: np.array([abs(d[key] - whole[key]) <= TOLERANCE[key] * whole[key]
                           for d in draws]) for key in FIGURES}
  return {'form': np.mean(np.all([within[key] for key in FORM], axis=0)),
          **{key: (*np.percentile([d[key] for d in draws], [5, 95]), np.mean(within[key]))
             for key in FIGURES}}


if __name__ == '__main__':
  experiment_dir, *folders = sys.argv[1:]
  config = experiment.load_config(experiment_dir)
  reference = [tunes.tune_features(t, m) for t, m in zip(*experiment.validation_tunes(
      experiment_dir, config, parse_cache.DEFAULT_CACHE_DIR, console.log))]
  generated = [[tunes.tune_features(g.tokens, g.meter) for g in
                report.generated_melodies(folder, config['steps_per_quarter']).values()]
               for folder in folders]
  pooled_features = [f for folder in generated for f in folder]
  pooled, whole = tunes.summary(pooled_features), tunes.summary(reference)
  one, every = len(generated[0]), sum(map(len, generated))
  by_one, by_every = spread(reference, one, whole), spread(reference, every, whole)
  asked = 3 * one  # The three seeds.
  tunes_asked = spread(reference, asked, whole, replace=True)
  model_asked = spread(pooled_features, asked, whole, replace=True)
  print(f'| figure | generated, {every} pooled | reference, {len(reference)} | reference, '
        f'sets of {one} (5-95%) | reference, sets of {every} (5-95%) | reference, sets of '
        f'{one} within the asked tolerance | sets of {every} within it | reference, sets of '
        f'{asked} drawn again, within it | generated, sets of {asked} drawn again, within it |')
  print('|---|---|---|---|---|---|---|---|---|')
  for key in FIGURES:
    digits = 0 if key == 'median_steps' else 3
    print(f'| {tunes.SUMMARY_LABELS[key]} | {pooled[key]:.{digits}f} | {whole[key]:.{digits}f} | '
          f'{by_one[key][0]:.{digits}f}-{by_one[key][1]:.{digits}f} | '
          f'{by_every[key][0]:.{digits}f}-{by_every[key][1]:.{digits}f} | {by_one[key][2]:.2f} | '
          f'{by_every[key][2]:.2f} | {tunes_asked[key][2]:.2f} | {model_asked[key][2]:.2f} |')
  print(f'| bars, 4- and 8-bar parts all within it | | | | | {by_one["form"]:.2f} | '
        f'{by_every["form"]:.2f} | {tunes_asked["form"]:.2f} | {model_asked["form"]:.2f} |')
