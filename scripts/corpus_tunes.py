"""The whole-tune statistics of folk corpora (evaluation/tunes.py), per collection: to compare
the corpus as written with the corpus as played (repeats expanded).

  python -m midi_rnn_jax.corpus --repeats=written --out_dir=data/midi-written
  python scripts/corpus_tunes.py data/midi-written data/midi
"""

import os
import sys

import numpy as np

from midi_rnn_jax.data import cached_tracks, dataset, encoding, parse_cache
from midi_rnn_jax.evaluation import tunes


def same_as_bars_before(tokens: np.ndarray, meter: encoding.Meter, bars: range) -> float:
  """Share of steps equal to the step some of ``bars`` bars earlier (the best of them)."""
  bar = int(np.median(meter.bar_lengths))
  return max((float(np.mean(tokens[k * bar:] == tokens[:-k * bar]))
              for k in bars if k * bar < len(tokens)), default=0.0)


if __name__ == '__main__':
  rules = encoding.ReadingRules(polyphony='top', tracks='melody')
  print('| corpus | collection | tunes | steps (median) | share of steps as 6-16 bars before '
        '(median) | bars repeated | 4-bar parts repeated | 8-bar parts repeated | ends home |')
  print('|---|---|---|---|---|---|---|---|---|')
  for folder in sys.argv[1:]:
    corpus = dataset.load_corpus(folder, 20, parse_cache.DEFAULT_CACHE_DIR, 2,
                                 lambda *_: None, rules)
    by_collection = {}
    for record in corpus.records:
      collection = os.path.relpath(record.path, folder).split(os.sep)[0]
      by_collection.setdefault(collection, []).append(record)
    for collection, records in [*sorted(by_collection.items()), ('all', corpus.records)]:
      tracks, meters = cached_tracks.all_tracks_and_meters(records, 20)
      summary = tunes.summary([tunes.tune_features(t, m) for t, m in zip(tracks, meters)])
      again = np.median([same_as_bars_before(t, m, range(6, 17)) for t, m in zip(tracks, meters)])
      print(f'| {folder} | {collection} | {summary["tunes"]} | {summary["median_steps"]:.0f} | '
            f'{again:.2f} | {summary["bar_repetition"]:.3f} | '
            f'{summary["part_repetition_4"]:.3f} | {summary["part_repetition_8"]:.3f} | '
            f'{summary["ends_home"]:.3f} |')
