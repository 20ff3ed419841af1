"""Where a model's tunes lose their repeated bars: given the real start of a tune or its own.

For validation tunes of one meter with no pickup and at least 16 bars, the share of bars 9-16
(of one token or more) that equal an earlier bar: in the tunes; reachable by the lookbacks (an
equal bar 1, 2, 4 or 8 bars back); in continuations that a model samples after each tune's own
first 8 bars (3 seeds, temperature 1); and in the model's own tunes (bars 9-16 of the tunes
in GENERATED_DIRs, as `reproduce.sh tunes` writes them).

  python scripts/primed_repeats.py EXPERIMENT MODEL_FILE GENERATED_DIR [GENERATED_DIR ...]
"""

import sys

import jax
import numpy as np

from midi_rnn_jax import experiment, report
from midi_rnn_jax.data import model_inputs
from midi_rnn_jax.evaluation import tunes
from midi_rnn_jax.generate import priming, samplers
from midi_rnn_jax.model import model_file

PRIMED_BARS, MEASURED_BARS = 8, 16


def repeats(bars: list[tuple]) -> list[tuple[bool, bool]]:
  """For bars 9-16 that hold more than one token: (equal to an earlier such bar, equal to the
  bar 1, 2, 4 or 8 back)."""
  out = []
  for i in range(PRIMED_BARS, min(MEASURED_BARS, len(bars))):
    if len(set(bars[i])) > 1:
      earlier = {bar for bar in bars[:i] if len(set(bar)) > 1}
      out.append((bars[i] in earlier,
                  any(i >= k and bars[i - k] == bars[i] for k in model_inputs.LOOKBACK_BARS)))
  return out


def in_bars(tokens: np.ndarray, bar_length: int) -> list[tuple]:
  return [tuple(tokens[k * bar_length:(k + 1) * bar_length])
          for k in range(len(tokens) // bar_length)]


def main(experiment_dir: str, model_path: str, generated_dirs: list[str]) -> None:
  config = experiment.load_config(experiment_dir)
  tracks, meters = experiment.validation_tunes(experiment_dir, config, config['cache_dir'], print)
  _, graphdef, params, *_ = model_file.load_model_file(model_path)
  own = [melody for folder in generated_dirs
         for melody in report.generated_melodies(folder, config['steps_per_quarter']).values()]
  print('| bar of (steps) | tunes | the tunes: bars 9-16 repeated | equal to the bar 1, 2, 4 or '
        '8 back | sampled after the first 8 bars | the model\'s own tunes |')
  print('|---' * 6 + '|')
  for bar_length in sorted({int(m.bar_lengths[0]) for m in meters}):
    chosen = [i for i, (track, meter) in enumerate(zip(tracks, meters))
              if meter.positions[0] == 0 and np.all(meter.bar_lengths == bar_length)
              and len(track) >= MEASURED_BARS * bar_length]
    if len(chosen) < 20:
      continue
    steps = PRIMED_BARS * bar_length
    primers = [priming.as_tune_opening(priming.Primer(tracks[i][:steps], meters[i].positions[:steps],
                                                      bar_length)) for i in chosen]
    primes, positions = priming.stack_primes(primers, steps)
    sample = samplers.SAMPLERS['sequence'](graphdef, steps, 1.0)
    tune_figures = [r for i in chosen for r in repeats(in_bars(tracks[i], bar_length))]
    sampled = []
    for seed in range(3):
      melodies = np.asarray(sample(params, primes, jax.random.key(seed), positions).tokens)
      for melody, i in zip(melodies, chosen):
        melody = melody[:priming.tune_length(melody)]
        sampled += [r for r, _ in repeats(in_bars(np.concatenate([tracks[i][:steps], melody]),
                                                  bar_length))]
    free = [r for m in own if m.meter.positions[0] == 0
            and np.all(np.asarray(m.meter.bar_lengths) == bar_length)
            for r, _ in repeats(tunes.bars_of(m.tokens, m.meter.positions))]
    print(f'| {bar_length} | {len(chosen)} | {np.mean([r for r, _ in tune_figures]):.3f} | '
          f'{np.mean([k for _, k in tune_figures]):.3f} | {np.mean(sampled):.3f} | '
          f'{np.mean(free):.3f} ({len(free)} bars) |')


if __name__ == '__main__':
  main(sys.argv[1], sys.argv[2], sys.argv[3:])
