"""MIDI folder -> cached tokens (and bar positions) -> train/validation split -> tracks.

Parsing is the slow part (miditoolkit reads ~50 files/s), so every file's tokens
are cached on disk, keyed by path, size, mtime and the encoding version; tokens
are read back from that cache (``batching`` does so a group of ``max_files_in_ram``
files at a time while windows or chunks are drawn).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from midi_rnn_jax import encoding, readers
from midi_rnn_jax.errors import UserError

MIDI_SUFFIXES = ('.mid', '.midi')
DEFAULT_CACHE_DIR = os.path.join(
    os.environ.get('XDG_CACHE_HOME', os.path.expanduser('~/.cache')), 'midi_rnn_jax')


@dataclasses.dataclass(frozen=True)
class FileRecord:
  """What one MIDI file holds, without its tokens (those stay in the cache)."""
  path: str
  cache_file: str
  track_lengths: np.ndarray  # steps of each track read (one melody line each)
  track_notes: np.ndarray  # notes of each line
  track_numbers: np.ndarray  # each line's track number in the file, from 1
  track_cut: np.ndarray  # notes of each line ended early (legato, a held note under a line)
  track_dropped: np.ndarray  # notes left out of each line (under a chord's top or a held note)
  notes_lost: int  # notes of the lines that no grid step kept
  skipped_tracks: np.ndarray  # numbers of the tracks that give no line (SKIP_REASONS)
  skipped_reasons: np.ndarray  # why each was skipped: an index into encoding.SKIP_REASONS
  from_cache: bool
  # When set (token_store.stored): the arrays of all tracks, back to back, from this offset
  # of these memmaps, instead of the cache file.
  store: dict[str, np.ndarray] | None = dataclasses.field(default=None, repr=False)
  store_offset: int = 0

  def usable(self, window_size: int) -> np.ndarray:
    """Mask of the tracks that hold at least one training window."""
    return (self.track_notes > window_size) & (self.track_lengths > window_size)

  def num_windows(self, window_size: int) -> int:
    return int(np.sum((self.track_lengths - window_size)[self.usable(window_size)]))


def find_midi_files(data_dir: str, warn: Callable[[str], None] = lambda _: None) -> list[str]:
  """Every .mid/.midi file under ``data_dir``, recursively (through links), sorted, each read
  once: a folder or file reached again through a link (a link loop, a second link to one
  file) is skipped, and ``warn`` says how many were, so no tune lands twice in the data (or on
  both sides of the split)."""
  if not os.path.isdir(data_dir):
    raise UserError(f'--data_dir {data_dir!r} is not a folder')
  paths, seen_folders, seen_files, skipped = [], set(), set(), 0

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
    paths += [os.path.join(root, n) for n in sorted(names)
              if n.lower().endswith(MIDI_SUFFIXES)
              and first_time(os.path.join(root, n), seen_files)]
  if skipped:
    warn(f'warning: {skipped} links in --data_dir {data_dir!r} lead to folders or files read '
         'already: skipped, each file is read once')
  return sorted(paths)


# Bump when the arrays a cache entry holds change (2: bar positions added; 3: skipped tracks
# and their reasons, zero-length notes no longer make a track polyphonic; 4: the reading
# rules of melody_lines and track_choice, and what they cut and dropped per track).
CACHE_FORMAT = 4


def cache_file_for(path: str, cache_dir: str, rules: encoding.ReadingRules) -> str:
  stat = os.stat(path)
  key = (f'{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}|'
         f'{encoding.ENCODING_VERSION}|{rules.key()}|{CACHE_FORMAT}|{readers.NAME}')
  return os.path.join(cache_dir, hashlib.sha1(key.encode()).hexdigest() + '.npz')


def _record_from_npz(path: str, cache_file: str, data, from_cache: bool) -> FileRecord:
  return FileRecord(path=path, cache_file=cache_file,
                    track_lengths=data['track_lengths'], track_notes=data['track_notes'],
                    track_numbers=data['track_numbers'], track_cut=data['track_cut'],
                    track_dropped=data['track_dropped'], notes_lost=int(data['notes_lost']),
                    skipped_tracks=data['skipped_tracks'],
                    skipped_reasons=data['skipped_reasons'], from_cache=from_cache)


# A larger file is not a MIDI file people have (the largest of the Lakh subset and of
# pop909-dev are 35 and 22 KB): it is skipped before parsing, which could take minutes. A limit
# of size, not of time, so which files train never depends on how busy the machine is.
MAX_FILE_BYTES = 8 << 20


def encode_file(path: str, rules: encoding.ReadingRules = encoding.ReadingRules()
                ) -> tuple[list[encoding.TrackEncoding], dict]:
  """Reads and encodes one MIDI file; a UserError naming the file when it is unreadable or
  over MAX_FILE_BYTES."""
  size = os.path.getsize(path)
  if size > MAX_FILE_BYTES:
    raise UserError(f'unreadable MIDI file {path}: {size / 2**20:.1f} MiB, over the '
                    f'{MAX_FILE_BYTES >> 20} MiB a MIDI file is read up to')
  midi = readers.read_midi(path)
  try:
    return encoding.encode_midi(midi, rules)
  except Exception as error:  # A header or track that parses but makes no sense.
    raise readers.unreadable(path, error) from None


def parse_to_cache(path: str, cache_file: str, rules: encoding.ReadingRules
                   ) -> FileRecord | str:
  """Parses and encodes one file into ``cache_file``; the error text on failure.

  Runs in worker processes, so it returns only small metadata, never tokens.
  """
  try:
    tracks, skipped = encode_file(path, rules)
  except UserError as error:
    return str(error)

  def joined(field):
    return (np.concatenate([getattr(t, field) for t in tracks]) if tracks
            else np.zeros(0, np.uint8))

  skips = sorted((track, encoding.SKIP_REASONS.index(reason))
                 for reason, numbers in skipped.items() for track in numbers)
  arrays = dict(
      tokens=joined('tokens'), positions=joined('positions'), bar_lengths=joined('bar_lengths'),
      track_lengths=np.array([len(t.tokens) for t in tracks], np.int64),
      track_notes=np.array([t.num_notes for t in tracks], np.int64),
      track_numbers=np.array([t.track for t in tracks], np.int64),
      track_cut=np.array([t.notes_cut for t in tracks], np.int64),
      track_dropped=np.array([t.notes_dropped for t in tracks], np.int64),
      notes_lost=np.int64(sum(t.notes_lost for t in tracks)),
      skipped_tracks=np.array([t for t, _ in skips], np.int64).reshape(-1),
      skipped_reasons=np.array([r for _, r in skips], np.int64).reshape(-1))
  temporary = f'{cache_file}.{os.getpid()}.tmp.npz'
  np.savez(temporary, **arrays)
  os.replace(temporary, cache_file)  # Atomic: a crash never leaves half a cache entry.
  return _record_from_npz(path, cache_file, arrays, from_cache=False)


def _read_cached(path: str, cache_file: str, warn: Callable[[str], None]) -> FileRecord | None:
  """The cached record of ``path``; None when there is none, or (with a warning) when the
  cache file is damaged: the MIDI file is then parsed again."""
  if not os.path.exists(cache_file):
    return None
  try:
    with np.load(cache_file) as data:
      record = _record_from_npz(path, cache_file, data, from_cache=True)
      for name in ('tokens', 'positions', 'bar_lengths'):  # A truncated file fails here.
        data[name]  # pylint: disable=pointless-statement
      return record
  except Exception as error:  # A truncated or foreign file fails in many ways (zip, npy, keys).
    warn(f'warning: damaged cache entry for {path} ({type(error).__name__}); parsing it again')
    return None


def _parse_in_processes(todo: list[tuple[str, str]], n_jobs: int, rules: encoding.ReadingRules
                        ) -> list[FileRecord | str]:
  """``parse_to_cache`` over ``todo`` in ``n_jobs`` worker processes.

  Ctrl-C reaches the whole process group, and only the main process should answer it: the
  workers are started with SIGINT ignored (a disposition they inherit from their very first
  instruction, before Python's own handler could print a traceback)."""
  # spawn, not fork: forking a process that may have started JAX threads can deadlock.
  pool = concurrent.futures.ProcessPoolExecutor(
      max_workers=n_jobs, mp_context=multiprocessing.get_context('spawn'))
  try:
    in_main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
    try:
      paths, cache_files = zip(*todo)
      # map submits every file at once, which starts the workers, with SIGINT ignored.
      results = pool.map(parse_to_cache, paths, cache_files, [rules] * len(todo),
                         chunksize=4)
    finally:
      if in_main_thread:
        signal.signal(signal.SIGINT, handler)
    return list(results)
  finally:  # On Ctrl-C, drop the files not started rather than parse them all first.
    pool.shutdown(cancel_futures=True)


def read_records(paths: Sequence[str], cache_dir: str, n_jobs: int, warn: Callable[[str], None],
                 rules: encoding.ReadingRules = encoding.ReadingRules()) -> list[FileRecord]:
  """Records of every readable file, parsing the uncached ones with ``n_jobs`` processes;
  ``warn`` is told about each unreadable one."""
  records, _ = _read_records_and_failures(paths, cache_dir, n_jobs, warn, rules)
  return records


def _read_records_and_failures(paths: Sequence[str], cache_dir: str, n_jobs: int,
                               warn: Callable[[str], None], rules: encoding.ReadingRules
                               ) -> tuple[list[FileRecord], dict[str, str]]:
  """``read_records``, and why each file that gave no record could not be read."""
  try:
    os.makedirs(cache_dir, exist_ok=True)
  except OSError as error:
    raise UserError(f'--cache_dir {cache_dir!r} cannot be created: {error.strerror}') from None
  records, todo, failures = {}, [], {}
  for path in paths:
    try:
      cache_file = cache_file_for(path, cache_dir, rules)
    except OSError as error:  # A dangling link, or a file removed while we look.
      warn(f'warning: skipping {path}: {error.strerror}')
      failures[path] = f'unreadable: {error.strerror}'
      continue
    records[path] = _read_cached(path, cache_file, warn)
    if records[path] is None:
      todo.append((path, cache_file))
  if todo and n_jobs > 1:
    parsed = _parse_in_processes(todo, n_jobs, rules)
  else:
    parsed = [parse_to_cache(p, c, rules) for p, c in todo]
  for (path, _), result in zip(todo, parsed):
    if isinstance(result, str):
      warn(f'warning: skipping {result}')
      failures[path] = 'unreadable: ' + result.split(f'{path}: ', 1)[-1]
      del records[path]
    else:
      records[path] = result
  return [records[p] for p in paths if p in records], failures


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
  records, failures = _read_records_and_failures(paths, cache_dir, n_jobs, warn, rules)
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
