"""How likely a model with tune ends makes each tune's own end step, had the tune to end in
its last bar with the end's odds there multiplied by a tilt (as the sampler tilts them in the
bar a --form_ends model names last): the mean log-likelihood of the end step over the
validation tunes (teacher forced), per tilt. The best tilt is END_TILT's.

  python scripts/end_tilt.py EXPERIMENT
"""

import sys

import numpy as np

from end_placement import end_probabilities
from midi_rnn_jax import experiment
from midi_rnn_jax.data import model_inputs

TILTS = (1, 2, 4, 8, 16, 32, 64)


def last_bar_ends(tokens, meter, p_end: np.ndarray) -> np.ndarray:
  """The end probabilities after each step of a tune (``p_end``, its last: the tune's own end)
  -> those the last bar's tilt moves: after the step before the last bar line, then after each
  step to the end (a tune that ends at a bar line: its end alone)."""
  positions = np.asarray(meter.positions)
  lines = np.flatnonzero(positions == 0)
  if (positions[-1] + 1) % meter.bar_lengths[-1] == 0:
    return p_end[-1:]
  return p_end[max(int(lines[-1]) - 1, 0) if len(lines) else 0:]


def log_likelihood(ends: np.ndarray, tilt: float) -> float:
  """Of ending after the last of ``ends``, not before it, with their odds times ``tilt``."""
  tilted = tilt * ends / (1 - ends + tilt * ends)
  return float(np.sum(np.log1p(-tilted[:-1])) + np.log(tilted[-1]))


def main(experiment_dir: str) -> None:
  config, graphdef, params = experiment.load_model(experiment_dir, 'best')
  tracks, meters = experiment.validation_tunes(experiment_dir, config, config['cache_dir'], print)
  names = model_inputs.of_config(config)
  model_tracks = [model_inputs.model_track(t, m, names, True) for t, m in zip(tracks, meters)]
  last_bars = [last_bar_ends(tokens, meter, p_end) for tokens, meter, p_end in zip(
      tracks, meters, end_probabilities(graphdef, params, model_tracks, tracks))]
  print(f'{len(tracks)} validation tunes; steps of the last bar where the end may fall: median '
        f'{np.median([len(e) for e in last_bars]):.0f}')
  print('| tilt | mean log-likelihood of the end step (nats) |')
  print('|---|---|')
  for tilt in TILTS:
    print(f'| {tilt} | {np.mean([log_likelihood(e, tilt) for e in last_bars]):.3f} |')


if __name__ == '__main__':
  main(sys.argv[1])
