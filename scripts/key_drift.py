"""Whether tunes come home to the key they open in: for the validation tunes of an experiment
and for each folder of generated tunes, over the tunes of at least 128 steps, the share whose
opening (first 64 steps) is in the key of the whole tune (Krumhansl-Schmuckler,
evaluation/tunes.tonic), whose opening and close (last 64 steps) are in one key, whose last note
is the opening's tonic, and whose first note on a bar line is the whole tune's tonic.

  python scripts/key_drift.py EXPERIMENT [GENERATED_DIR ...]   # and the folders pooled
"""

import sys

import numpy as np

from midi_rnn_jax import experiment, report
from midi_rnn_jax.data import encoding
from midi_rnn_jax.evaluation import tunes

# The steps of a tune read as its opening, and as its close.
SPAN = 64


def drift(tokens: np.ndarray, meter: encoding.Meter) -> tuple[bool, bool, bool, bool]:
  """(opening key is the tune's, opening key is the close's, last note is the opening's tonic,
  first note on a bar line is the tune's tonic) of one tune."""
  tokens = np.asarray(tokens)
  opening, whole, close = (tunes.tonic(tokens[:SPAN]), tunes.tonic(tokens),
                           tunes.tonic(tokens[-SPAN:]))
  _, last = tunes.last_note(tokens)
  on_bar_lines = tokens[(np.asarray(meter.positions) == 0) & (tokens != encoding.REST)]
  first_on_bar_line = (int(on_bar_lines[0]) - 1) % 12 if len(on_bar_lines) else None
  return opening == whole, opening == close, (last - 1) % 12 == opening, first_on_bar_line == whole


def row(name: str, pairs) -> str:
  drifts = [drift(t, m) for t, m in pairs if len(t) >= 2 * SPAN]
  return (f'| {name} | {len(drifts)} | ' + ' | '.join(f'{s:.3f}' for s in np.mean(drifts, axis=0))
          + ' |')


def main(experiment_dir: str, generated_dirs: list[str]) -> None:
  config = experiment.load_config(experiment_dir)
  print('| tunes | read (128 steps or more) | opening in the tune\'s key | opening in the '
        'close\'s key | last note the opening\'s tonic | first note on a bar line the tonic |')
  print('|---' * 6 + '|')
  print(row('validation', list(zip(*experiment.validation_tunes(
      experiment_dir, config, config['cache_dir'], print)))))
  pooled = []
  for folder in generated_dirs:
    melodies = report.generated_melodies(folder, config['steps_per_quarter']).values()
    pairs = [(m.tokens, m.meter) for m in melodies]
    print(row(folder, pairs))
    pooled += pairs
  if len(generated_dirs) > 1:
    print(row(f'the {len(generated_dirs)} folders pooled', pooled))


if __name__ == '__main__':
  main(sys.argv[1], sys.argv[2:])
