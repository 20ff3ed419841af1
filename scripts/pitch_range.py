"""The pitch range of a folder's melody lines, and how many sounding steps lie within N
semitones of MIDI's ends (where a transposition's draw depends on the targets).

  python scripts/pitch_range.py data/midi --polyphony top --tracks melody
  python scripts/pitch_range.py data/lakh-midi-rnn
"""

import argparse

import numpy as np

from midi_rnn_jax.data import cached_tracks, dataset, encoding, parse_cache

if __name__ == '__main__':
  parser = argparse.ArgumentParser()
  parser.add_argument('folder')
  parser.add_argument('--polyphony', default='skip')
  parser.add_argument('--tracks', default='all')
  parser.add_argument('--semitones', type=int, default=12)
  args = parser.parse_args()
  rules = encoding.ReadingRules(polyphony=args.polyphony, tracks=args.tracks)
  corpus = dataset.load_corpus(args.folder, 20, parse_cache.DEFAULT_CACHE_DIR, 2, print, rules)
  flat = np.concatenate(cached_tracks.all_tracks(corpus.records, 20)).astype(int)
  pitches = flat[flat != encoding.REST] - 1
  near = (pitches < args.semitones) | (pitches > 127 - args.semitones)
  print(f'{args.folder}: {len(pitches)} sounding steps, pitches {pitches.min()}-{pitches.max()}, '
        f'{int(near.sum())} within {args.semitones} semitones of 0 or 127')
