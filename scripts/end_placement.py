"""Where a model with tune ends puts the end, reading the validation tunes (teacher forced):
the share of its end probability at steps where ending would end home, and of its first end
(the one a sampler would stop at, had it sampled these notes), against where the tunes end.

  python scripts/end_placement.py EXPERIMENT

Set beside the share of its own sampled tunes that end home (report's Tunes section), it
tells a model that misplaces its ends from one whose own notes lead it elsewhere.
"""

import sys

import numpy as np

from midi_rnn_jax import experiment
from midi_rnn_jax.data import model_inputs
from midi_rnn_jax.evaluation import scoring, tunes


def main(experiment_dir: str) -> None:
  config, graphdef, params = experiment.load_model(experiment_dir, 'best')
  tracks, meters = experiment.validation_tunes(experiment_dir, config, config['cache_dir'], print)
  names = model_inputs.of_config(config)
  scores = scoring.whole_track_scores(
      graphdef, params, [model_inputs.model_track(t, m, names, True) for t, m in zip(tracks, meters)],
      window_size=1, tune_ends=True)
  mass = home_mass = first = home_first = 0.0
  offset, own_ends_home = 0, []
  for index, (tokens, meter) in enumerate(zip(tracks, meters)):
    # The end after each step of the tune: scored before its last step, then after it.
    before = scores.end_before[offset:offset + len(tokens) - 1]
    offset += len(tokens) - 1
    p_end = np.append(before, scores.end_at_end[index])
    home = tunes.home_after_each_step(tokens, meter)
    own_ends_home.append(home[-1])  # The tune's own end: ends_home of the whole tune.
    first_end = p_end * np.concatenate([[1.0], np.cumprod(1.0 - p_end)[:-1]])
    mass, home_mass = mass + p_end.sum(), home_mass + p_end @ home
    first, home_first = first + first_end.sum(), home_first + first_end @ home
  print(f'| {experiment_dir} | {len(tracks)} | {mass / len(tracks):.3f} | '
        f'{home_mass / mass:.3f} | {first / len(tracks):.3f} | {home_first / first:.3f} | '
        f'{np.mean(own_ends_home):.3f} |')


if __name__ == '__main__':
  print('| experiment | tunes | end probability per tune | its share where ending is home | '
        'share a sampler would end by their last step | of those ends, home | the tunes\' own '
        'ends, home |')
  print('|---' * 7 + '|')
  for path in sys.argv[1:]:
    main(path)
