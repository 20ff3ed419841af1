"""MIDI file -> its melody lines' tokens in an on-disk cache, and a small FileRecord of it.

Parsing is the slow part (miditoolkit reads ~50 files/s), so every file's tokens (and bar
positions) are cached on disk, keyed by path, size, mtime, the encoding version and the
reading rules; batches read them back from that cache (or the token store) a group of files at
a time.
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

import numpy as np

from midi_rnn_jax.data import encoding, readers
from midi_rnn_jax.errors import UserError

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


# Bump when the arrays a cache entry holds change (2: bar positions added; 3: skipped tracks
# and their reasons, zero-length notes no longer make a track polyphonic; 4: the reading
# rules of melody_lines and track_choice, and what they cut and dropped per track; 5: each
# step's beat unit, the denominator of its time signature).
CACHE_FORMAT = 5


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
  try:
    size = os.path.getsize(path)
  except OSError as error:  # Gone since it was listed, or never there.
    raise readers.unreadable(path, error) from None
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
      beat_units=joined('beat_units'),
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
      for name in ('tokens', 'positions', 'bar_lengths', 'beat_units'):  # A truncated file fails here.
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
  records, _ = read_records_and_failures(paths, cache_dir, n_jobs, warn, rules)
  return records


def read_records_and_failures(paths: Sequence[str], cache_dir: str, n_jobs: int,
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
