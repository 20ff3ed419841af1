"""A MIDI folder as a dataset: its files (each once), what was read of every track and why a
track was skipped, and the train/validation split by file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from midi_rnn_jax.data import encoding
from midi_rnn_jax.data.parse_cache import FileRecord, read_records_and_failures
from midi_rnn_jax.errors import UserError

MIDI_SUFFIXES = ('.mid', '.midi')


def find_midi_files(data_dir: str, warn: Callable[[str], None] = lambda _: None) -> list[str]:
  """Every .mid/.midi file under ``data_dir``, recursively (through links), sorted, each read
  once: a folder or file reached again through a link (a link loop, a second link to one
  file) is skipped, and ``warn`` says how many were, so no tune lands twice in the data (or on
  both sides of the split)."""
  if not os.path.isdir(data_dir):
    raise UserError(f'--data_dir {data_dir!r} is not a folder')
  paths, seen_folders, seen_files, skipped, irregular = [], set(), set(), 0, 0

  def first_time(path: str, seen: set[str]) -> bool:
    nonlocal skipped
    real = os.path.realpath(path)
    if real in seen:
      skipped += 1
      return False
    seen.add(real)
    return True

  for root, folders, names in os.walk(data_dir, followlinks=True):
    seen_folders.add(os.path.realpath(root))
    folders[:] = [f for f in sorted(folders) if first_time(os.path.join(root, f), seen_folders)]
    named = [os.path.join(root, n) for n in sorted(names) if n.lower().endswith(MIDI_SUFFIXES)]
    # A FIFO, socket or device named .mid would block or fail its reader: not a file to read.
    regular = [path for path in named if os.path.isfile(path)]
    irregular += len(named) - len(regular)
    paths += [path for path in regular if first_time(path, seen_files)]
  if skipped:
    warn(f'warning: {skipped} links in --data_dir {data_dir!r} lead to folders or files read '
         'already: skipped, each file is read once')
  if irregular:
    warn(f'warning: {irregular} entries named .mid/.midi in --data_dir {data_dir!r} are not '
         'regular files (FIFOs, sockets, devices or broken links): skipped')
  return sorted(paths)


def summarize(num_files: int, records: Sequence[FileRecord], window_size: int) -> str:
  """The data summary printed after reading a folder: files, tracks, steps, and what making
  one line of each track cost."""
  used = [r for r in records if r.usable(window_size).any()]
  tracks = sum(int(r.usable(window_size).sum()) for r in used)
  steps = sum(int(r.track_lengths[r.usable(window_size)].sum()) for r in used)
  notes = sum(int(r.track_notes.sum()) for r in records)
  lost = sum(r.notes_lost for r in records)
  cut = sum(int(r.track_cut.sum()) for r in records)
  dropped = sum(int(r.track_dropped.sum()) for r in records)
  reduced = sum(int((r.track_dropped > 0).sum()) for r in records)
  parsed = sum(not r.from_cache for r in records)
  return (f'data: {num_files} files found, {len(used)} used, '
          f'{num_files - len(used)} skipped ({num_files - len(records)} unreadable, '
          f'{len(records) - len(used)} with no usable track); {tracks} tracks used, '
          f'{steps} steps; {cut} notes cut (legato), {dropped} dropped in {reduced} tracks '
          f'reduced to their top line; {lost} of {notes} notes lost to the grid; '
          f'{parsed} parsed, {len(records) - parsed} from cache')


SKIP_EXPLANATIONS = {
    'drum': 'skipped: drum track',
    'polyphonic': 'skipped: chords or a held note under other notes (--polyphony skip)',
    'too_long': f'skipped: too long, over {encoding.MAX_TRACK_STEPS} steps',
    'empty': 'skipped: empty, no note covers a grid step',
    'not_chosen': 'skipped: not chosen by --tracks',
}


def what_was_read(cut: int, dropped: int) -> str:
  """How a track became its line, for tracks.tsv."""
  if dropped:
    return f'reduced to its top line: {dropped} notes dropped, {cut} cut'
  return f'kept with {cut} notes cut' if cut else 'kept'


def track_rows(records: Sequence[FileRecord], failures: dict[str, str], window_size: int
               ) -> list[tuple[str, str, str]]:
  """(path, track number or '', what happened) of every file that could not be read and every
  track of the others: kept, kept with notes cut, reduced to its top line, or skipped and why."""
  rows = [(path, '', reason) for path, reason in failures.items()]
  for record in records:
    rows += [(record.path, str(track), SKIP_EXPLANATIONS[encoding.SKIP_REASONS[reason]])
             for track, reason in zip(record.skipped_tracks, record.skipped_reasons)]
    usable = record.usable(window_size)
    for index, track in enumerate(record.track_numbers):
      notes, steps = record.track_notes[index], record.track_lengths[index]
      rows.append((record.path, str(track),
                   what_was_read(record.track_cut[index], record.track_dropped[index])
                   if usable[index] else
                   f'skipped: too short, {notes} notes over {steps} steps, and a track needs '
                   f'more than --window_size={window_size} of each'))
  return sorted(rows, key=lambda row: (row[0], int(row[1] or 0)))


def is_skipped(row: tuple[str, str, str]) -> bool:
  return not row[2].startswith(('kept', 'reduced'))


class Corpus(NamedTuple):
  records: list[FileRecord]  # the files with a usable track
  summary: str  # one line for the console
  tracks: list[tuple[str, str, str]]  # (path, track, what happened) of every file and track

  @property
  def skipped(self) -> list[tuple[str, str, str]]:
    return [row for row in self.tracks if is_skipped(row)]


def load_corpus(data_dir: str, window_size: int, cache_dir: str, n_jobs: int,
                warn: Callable[[str], None],
                rules: encoding.ReadingRules = encoding.ReadingRules()) -> Corpus:
  """Usable files of ``data_dir``, the summary line, and what was skipped; UserError when
  nothing is usable."""
  paths = find_midi_files(data_dir, warn)
  records, failures = read_records_and_failures(paths, cache_dir, n_jobs, warn, rules)
  usable = [r for r in records if r.usable(window_size).any()]
  if not usable:
    raise UserError(f'no usable MIDI track in --data_dir {data_dir!r} ({len(paths)} .mid/.midi '
                    f'files; a usable track is not drums, gives one melody line under '
                    f'--polyphony={rules.polyphony} and --tracks={rules.tracks}, and has more '
                    f'than --window_size={window_size} notes)')
  return Corpus(usable, summarize(len(paths), records, window_size),
                track_rows(records, failures, window_size))


def split_files(records: Sequence[FileRecord], data_dir: str, seed: int,
                validation_fraction: float = 0.2) -> tuple[list[FileRecord], list[FileRecord]]:
  """(train, validation) split by file: a file is held out when a hash of its path under
  ``data_dir`` (and the seed) falls below ``validation_fraction``.

  So a file's side never depends on the other files (adding files moves none) or on
  --window_size. With two files or more at least one is held out, and one is trained on;
  a single file leaves validation empty.
  """
  def draw(record: FileRecord) -> float:
    name = os.path.relpath(record.path, data_dir).replace(os.sep, '/')
    digest = hashlib.sha256(f'{seed}|{name}'.encode()).digest()
    return int.from_bytes(digest[:8], 'big') / 2**64

  draws = np.array([draw(r) for r in records])
  held_out = draws < validation_fraction
  if len(records) >= 2 and not held_out.any():
    held_out[np.argmin(draws)] = True
  if held_out.all():
    held_out[np.argmax(draws)] = False
  return ([r for r, out in zip(records, held_out) if not out],
          [r for r, out in zip(records, held_out) if out])
