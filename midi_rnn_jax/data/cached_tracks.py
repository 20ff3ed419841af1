"""Records -> the usable tracks' per-step arrays (tokens, bar positions, bar lengths), read
from each file's parse-cache entry or, once ``token_store.stored`` attached it, the store."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from midi_rnn_jax.data import encoding
from midi_rnn_jax.data.parse_cache import FileRecord, read_records


def _usable_arrays(record: FileRecord, window_size: int, *names: str) -> list[list[np.ndarray]]:
  """Cached per-step arrays (tokens and the Meter's) of each usable track, in one
  read of the cache file: one list of tracks per name."""
  if record.store is not None:
    end = record.store_offset + int(np.sum(record.track_lengths))
    values = [record.store[name][record.store_offset:end] for name in names]
  else:
    with np.load(record.cache_file) as data:
      values = [data[name] for name in names]
  bounds = np.cumsum(record.track_lengths)[:-1]
  usable = record.usable(window_size)
  return [[v for v, ok in zip(np.split(array, bounds), usable) if ok] for array in values]


def load_tracks(record: FileRecord, window_size: int) -> list[np.ndarray]:
  """The usable tracks' tokens of one file, read from the cache."""
  (tokens,) = _usable_arrays(record, window_size, 'tokens')
  return tokens


def load_tracks_and_meters(record: FileRecord, window_size: int
                           ) -> tuple[list[np.ndarray], list[encoding.Meter]]:
  """The usable tracks' tokens of one file, and where their steps fall in their bars."""
  tokens, *meters = _usable_arrays(record, window_size, 'tokens', *encoding.Meter._fields)
  return tokens, [encoding.Meter(*meter) for meter in zip(*meters)]


def all_tracks(records: Sequence[FileRecord], window_size: int) -> list[np.ndarray]:
  """The usable tracks' tokens of every record, read from the cache."""
  return [t for r in records for t in load_tracks(r, window_size)]


def all_tracks_and_meters(records: Sequence[FileRecord], window_size: int
                          ) -> tuple[list[np.ndarray], list[encoding.Meter]]:
  """``all_tracks`` and the tracks' meters, each cache file read once."""
  tracks, meters = [], []
  for record in records:
    record_tracks, record_meters = load_tracks_and_meters(record, window_size)
    tracks += record_tracks
    meters += record_meters
  return tracks, meters


def usable_tracks(paths: Sequence[str], window_size: int, cache_dir: str,
                  rules: encoding.ReadingRules, warn: Callable[[str], None]) -> list[np.ndarray]:
  """Tokens of every usable track of ``paths``, through the cache."""
  return all_tracks(read_records(paths, cache_dir, 1, warn, rules), window_size)
