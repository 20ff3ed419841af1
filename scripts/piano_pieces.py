r"""Builds a folder of piano-style MIDI files from music21's corpus: each score's parts merged
into one track (as a piano piece with both hands in one track is written), for measuring how
the reading rules find a melody in them (docs/reading.md).

  python scripts/piano_pieces.py /tmp/piano_pieces   # needs the corpus extra (music21)

Writes NAME.mid (one track, program 0) and parts/NAME.mid (the parts as separate tracks, the
first one the top part: soprano, first violin or the right hand), for comparing the melody
read from the merged track with the top part.
"""

import os
import sys

import miditoolkit
from music21 import corpus

# Chorales, string quartets and piano pieces, as music21 ships them.
COMPOSERS = ('bach', 'mozart', 'beethoven', 'haydn', 'joplin', 'schumann_clara', 'chopin',
             'handel', 'schubert', 'cpebach')
CHORALES = 60  # Of Bach's 400: enough to count, few enough to parse in minutes.


def scores():
  for composer in COMPOSERS:
    paths = [p for p in corpus.getComposer(composer) if str(p).endswith(('.mxl', '.xml', '.krn'))]
    yield from paths[:CHORALES] if composer == 'bach' else paths


def main(out_dir: str) -> None:
  os.makedirs(os.path.join(out_dir, 'parts'), exist_ok=True)
  written = failed = 0
  for path in scores():
    name = str(path).split('corpus' + os.sep)[-1].rsplit('.', 1)[0].replace(os.sep, '_')
    parts_file = os.path.join(out_dir, 'parts', name + '.mid')
    try:
      corpus.parse(path).write('midi', fp=parts_file)
      midi = miditoolkit.MidiFile(parts_file)
    except Exception as error:  # pylint: disable=broad-except
      print(f'skipped {name}: {type(error).__name__}: {error}', file=sys.stderr)
      failed += 1
      continue
    merged = miditoolkit.Instrument(program=0, name='')
    merged.notes = sorted((n for i in midi.instruments for n in i.notes),
                          key=lambda n: (n.start, n.pitch))
    midi.instruments = [merged]
    midi.dump(os.path.join(out_dir, name + '.mid'))
    written += 1
  print(f'piano pieces: {written} written to {out_dir}, {failed} failed')


if __name__ == '__main__':
  main(sys.argv[1])
