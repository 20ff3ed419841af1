"""Experiment (--bars_left): the bar lines of each training tune of an experiment, as the
bars_left input counts them, saved for the sampler to draw tune lengths from.

  python scripts/tune_bars.py EXPERIMENT tune_bars.npy
  TUNE_BARS_FILE=tune_bars.npy TUNE_BARS_SEED=0 python -m midi_rnn_jax.sample ... --seed 0
"""

import sys

import numpy as np

from midi_rnn_jax import experiment
from midi_rnn_jax.data import cached_tracks, encoding, model_inputs, parse_cache

if __name__ == '__main__':
  experiment_dir, out = sys.argv[1:]
  config = experiment.load_config(experiment_dir)
  records = parse_cache.read_records(experiment.training_files(experiment_dir),
                                     config['cache_dir'], 2, print,
                                     encoding.ReadingRules.of_config(config))
  totals = [int(np.sum(model_inputs.tune_track(t, m.positions, m.bar_lengths)[1] == 0))
            for t, m in zip(*cached_tracks.all_tracks_and_meters(records, config['window_size']))]
  np.save(out, np.array(totals))
  print(f'{len(totals)} tunes; bar lines median {np.median(totals):.0f}')
