"""Why tunes do not end home (evaluation/tunes.ends_home), taken apart: for each folder of MIDI
files, the share of tunes whose last note is the tonic of their key, the share whose last note
starts in the first half of its bar, both (ending home), and the last note's degree above the
tonic (shares).

  python scripts/last_notes.py reproduced/validation reproduced/tunes/seed0 ...
  # validation tunes: python scripts/held_out_files.py EXPERIMENT data/midi reproduced/validation
"""

import collections
import glob
import os
import sys

import miditoolkit

from midi_rnn_jax.data import encoding
from midi_rnn_jax.evaluation import tunes

if __name__ == '__main__':
  for folder in sys.argv[1:]:
    tonic = early = home = count = 0
    degrees = collections.Counter()
    for path in sorted(glob.glob(os.path.join(folder, '**', '*.mid'), recursive=True)):
      (track,), _ = encoding.encode_midi(miditoolkit.MidiFile(path))
      note = tunes.last_note(track.tokens)
      if note is None:
        continue
      first, token = note
      degree = ((token - 1) % 12 - tunes.tonic(track.tokens)) % 12
      meter = encoding.Meter(track.positions, track.bar_lengths, track.beat_units)
      starts_early = bool(tunes.starts_early(meter, first))
      count += 1
      tonic, early, home = tonic + (degree == 0), early + starts_early, home + (
          degree == 0 and starts_early)
      degrees[degree] += 1
    shares = ' '.join(f'{d}:{degrees[d] / count:.3f}' for d in sorted(degrees))
    print(f'{folder}: {count} tunes; last note the tonic {tonic / count:.3f}, starting early in '
          f'its bar {early / count:.3f}, both (ends home) {home / count:.3f}; degrees {shares}')
