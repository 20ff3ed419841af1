r"""Measures the reading rules (docs/reading.md): which tracks give a melody line, which track
--tracks melody picks, and that nothing read before is lost.

  python scripts/measure_reading.py pop909 ../shared/data/pop909-dev
  python scripts/measure_reading.py piano /tmp/piano_pieces      # scripts/piano_pieces.py
  python scripts/measure_reading.py unchanged data/lakh-midi-rnn data/midi
  python scripts/measure_reading.py folders ../shared/data/pop909-dev /tmp/pop909
  python scripts/measure_reading.py registers experiments/01/generated ...

Every figure is printed as a markdown table row.
"""

import collections
import glob
import os
import sys

import numpy as np

from midi_rnn_jax.data import encoding, melody_lines, readers

RULES = {polyphony: encoding.ReadingRules(polyphony=polyphony) for polyphony in ('skip', 'top')}
MELODY = encoding.ReadingRules(polyphony='top', tracks='melody')


def midi_files(folder):
  return sorted(glob.glob(os.path.join(folder, '**', '*.mid'), recursive=True))


def anonymous(path, reverse=False):
  """The file with its track names removed (and its tracks in reverse order): the names and
  the order the method must not lean on; returns it and the names it had, in its new order."""
  midi = readers.read_with_miditoolkit(path)
  if reverse:
    midi.instruments.reverse()
  names = [instrument.name for instrument in midi.instruments]
  for instrument in midi.instruments:
    instrument.name = ''
  return midi, names


def pop909(folder):
  """Share of MELODY tracks that give a line, under each polyphony and held-note rule; share
  of songs where --tracks melody picks MELODY."""
  paths = midi_files(folder)
  original = sum(original_tokens(instrument, midi.ticks_per_beat) is not None
                 for midi, names in map(anonymous, paths)
                 for instrument, name in zip(midi.instruments, names) if name == 'MELODY')
  print(f'The original rule (any overlap over a 64th note skips a track) kept {original} of the '
        f'{len(paths)} MELODY tracks.\n')
  print('| --polyphony | held-note rule | MELODY tracks kept | notes cut | notes dropped |')
  print('|---|---|---|---|---|')
  for polyphony, held_rule in (('skip', 'cut'), ('top', 'voice'), ('top', 'cut')):
    melody_lines.HELD_RULE = held_rule
    kept = cut = dropped = 0
    for path in paths:
      midi, names = anonymous(path)
      tracks, _ = encoding.encode_midi(midi, RULES[polyphony])
      for track in tracks:
        if names[track.track - 1] == 'MELODY':
          kept, cut, dropped = kept + 1, cut + track.notes_cut, dropped + track.notes_dropped
    print(f'| {polyphony} | {held_rule if polyphony == "top" else "(cut: one voice)"} | '
          f'{kept}/{len(paths)} ({kept / len(paths):.1%}) | {cut} | {dropped} |')
  print('\n| held-note rule | track order | --tracks melody picks MELODY | picks another | '
        'picks none | on the 1st, 3rd, ... song | on the 2nd, 4th, ... |')
  print('|---|---|---|---|---|---|---|')
  for held_rule in melody_lines.HELD_RULES:
    melody_lines.HELD_RULE = held_rule
    for reverse in (False, True):
      picks, right = collections.Counter(), []
      for path in paths:
        midi, names = anonymous(path, reverse)
        tracks, _ = encoding.encode_midi(midi, MELODY)
        picks[names[tracks[0].track - 1] if tracks else 'none'] += 1
        right.append(bool(tracks) and names[tracks[0].track - 1] == 'MELODY')
      other = len(paths) - picks['MELODY'] - picks['none']
      print(f'| {held_rule} | {"reversed" if reverse else "as written"} | '
            f'{picks["MELODY"]}/{len(paths)} ({picks["MELODY"] / len(paths):.1%}) | {other} | '
            f'{picks["none"]} | {np.mean(right[0::2]):.1%} | {np.mean(right[1::2]):.1%} |')
  melody_lines.HELD_RULE = 'voice'


def steps_of(track):
  """{grid step from the file's start: token} of a line's sounding steps."""
  return {track.first_step + i: int(t) for i, t in enumerate(track.tokens) if t}


KINDS = ('chorales', 'quartets', 'piano and songs')


def kind_of(path):
  """Which of KINDS a piece of scripts/piano_pieces.py is, by its composer."""
  composer = os.path.basename(path).split('_')[0]
  return ('chorales' if composer == 'bach' else
          'quartets' if composer in ('mozart', 'beethoven', 'haydn') else 'piano and songs')


def piano(folder):
  """Share of one-track piano-style files that give a melody line, and how much of the top
  part (parts/NAME.mid, track 1) the line read from the merged track matches, step by step."""
  paths = midi_files(folder)
  paths = [p for p in paths if os.sep + 'parts' + os.sep not in p]
  print('| held-note rule | --tracks | files giving a melody | top-part steps matched: all steps '
        '| per file (mean) | chorales | quartets | piano and songs |')
  print('|---|---|---|---|---|---|---|---|')
  for held_rule in melody_lines.HELD_RULES:
    melody_lines.HELD_RULE = held_rule
    for rules in (RULES['top'], MELODY):
      given, matched, total, shares = 0, 0, 0, collections.defaultdict(list)
      for path in paths:
        tracks, _ = encoding.encode_midi(readers.read_with_miditoolkit(path), rules)
        if not tracks:
          continue
        given += 1
        parts = readers.read_with_miditoolkit(os.path.join(folder, 'parts', os.path.basename(path)))
        parts.instruments = parts.instruments[:1]
        top_part, _ = encoding.encode_midi(parts, RULES['top'])
        if top_part:
          line, truth = steps_of(tracks[0]), steps_of(top_part[0])
          hits = sum(line.get(step) == token for step, token in truth.items())
          matched, total = matched + hits, total + len(truth)
          shares[kind_of(path)].append(hits / len(truth))
      per_file = np.mean([share for kind in shares.values() for share in kind])
      print(f'| {held_rule} | {rules.tracks} | {given}/{len(paths)} ({given / len(paths):.1%}) | '
            f'{matched / max(total, 1):.1%} | {per_file:.1%} | '
            + ' | '.join(f'{np.mean(shares[kind]):.1%} ({len(shares[kind])})' for kind in KINDS)
            + ' |')
  melody_lines.HELD_RULE = 'voice'


def original_tokens(instrument, ticks_per_beat):
  """The tokens the original rule gave a track (any overlap past the slop: skipped), or None."""
  start, end, pitch = encoding.note_arrays(instrument.notes)
  if instrument.is_drum or melody_lines.has_overlap(start, end,
                                                    melody_lines.SLOP_BEATS * ticks_per_beat):
    return None
  tokens, _, _ = encoding.quantize(start, end, pitch, ticks_per_beat / encoding.STEPS_PER_QUARTER)
  return tokens if len(tokens) else None


def unchanged(*folders):
  """Tracks read by the original rule against the new rules: none lost, none changed."""
  print('| folder | rules | tracks read before | read now | of those before: lost | changed '
        '| new tracks |')
  print('|---|---|---|---|---|---|---|')
  for folder in folders:
    paths = midi_files(folder)
    midis = [readers.read_with_miditoolkit(p) for p in paths]
    before = {(p, n): tokens for p, midi in zip(paths, midis)
              for n, instrument in enumerate(midi.instruments, start=1)
              if (tokens := original_tokens(instrument, midi.ticks_per_beat)) is not None}
    for name, rules in (('skip, all', RULES['skip']), ('top, all', RULES['top']),
                        ('top, melody', MELODY)):
      now = {(p, t.track): t.tokens for p, midi in zip(paths, midis)
             for t in encoding.encode_midi(midi, rules)[0]}
      lost = [key for key in before if key not in now]
      changed = [key for key in before if key in now and not np.array_equal(before[key], now[key])]
      print(f'| {folder} ({len(paths)} files) | {name} | {len(before)} | {len(now)} | '
            f'{len(lost)} | {len(changed)} | {len(set(now) - set(before))} |')
      if name == 'top, melody':
        medians = [np.median(before[key][before[key] > 0] - 1) for key in lost]
        print(f'\n{folder}: {len(lost)} tracks read before are not a melody under --tracks '
              f'melody; their median pitches: {np.histogram(medians, [0, 40, 48, 52, 60, 128])}\n')


def folders(source, out):
  """``out``/anonymous: the files with no track names; ``out``/melody: their MELODY track alone
  (the labelled melodies), for training one model on each (same names, so the same split)."""
  for kind in ('anonymous', 'melody'):
    os.makedirs(os.path.join(out, kind), exist_ok=True)
  for path in midi_files(source):
    midi, names = anonymous(path)
    midi.dump(os.path.join(out, 'anonymous', os.path.basename(path)))
    midi.instruments = [i for i, name in zip(midi.instruments, names) if name == 'MELODY']
    midi.dump(os.path.join(out, 'melody', os.path.basename(path)))


def registers(*folders):
  """Where the melodies in each folder lie: their median pitches and how many sit in the bass."""
  print('| melodies | files | median pitch (median of files) | files with a median below C3 | '
        'lowest and highest median |')
  print('|---|---|---|---|---|')
  for folder in folders:
    medians = []
    for path in midi_files(folder):
      pitches = [n.pitch for i in readers.read_with_miditoolkit(path).instruments for n in i.notes]
      if pitches:
        medians.append(float(np.median(pitches)))
    print(f'| {folder} | {len(medians)} | {np.median(medians):.1f} | '
          f'{sum(m < 48 for m in medians)} | {min(medians):.1f}-{max(medians):.1f} |')


if __name__ == '__main__':
  {'pop909': pop909, 'piano': piano, 'unchanged': unchanged,
   'folders': folders, 'registers': registers}[sys.argv[1]](*sys.argv[2:])
