"""An on-disk store of a corpus's tokens: every file's per-step arrays (tokens, bar positions,
bar lengths) back to back in three flat uint8 files, read as numpy memmaps, with an index of
where each file starts; in SHARDS shards, a file's shard fixed by its parse-cache name, so a
file added, changed or removed rebuilds one shard, not the store.

Training reads its tracks from here rather than from one parse-cache file per MIDI file: a
slice of a memmap costs no open() and only the pages read come into memory, so memory stays
bounded whatever the corpus size (``--max_files_in_ram`` files' tracks at a time, then the
shuffle buffer). The store is built once from the parse cache, one file at a time, and is
found again by the cache files it holds; tokens are the same, so results do not change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from collections.abc import Callable, Sequence

import numpy as np

from midi_rnn_jax.data.parse_cache import FileRecord

ARRAYS = ('tokens', 'positions', 'bar_lengths', 'beat_units')
STORE_FORMAT = 2  # 2: beat_units added.
SHARDS = 16


@dataclasses.dataclass(frozen=True, eq=False)
class TokenStore:
  folder: str
  arrays: dict[str, np.ndarray]  # name -> every file's steps, read-only
  offsets: dict[str, int]  # cache file name -> the step where that file's arrays start

  def bytes_on_disk(self) -> int:
    return sum(os.path.getsize(os.path.join(self.folder, f)) for f in os.listdir(self.folder))


def folder_for(records: Sequence[FileRecord], cache_dir: str) -> str:
  """Where the store of exactly these cache files lives (they are keyed by content)."""
  names = sorted(os.path.basename(r.cache_file) for r in records)
  key = hashlib.sha1('|'.join([str(STORE_FORMAT), *names]).encode()).hexdigest()
  return os.path.join(cache_dir, 'stores', key)


def build(records: Sequence[FileRecord], folder: str) -> None:
  """Writes the store of ``records`` into ``folder``, reading one cache file at a time; a
  temporary folder is renamed when complete, so a killed build leaves no half store."""
  temporary = f'{folder}.{os.getpid()}.tmp'
  os.makedirs(temporary, exist_ok=True)
  names, offsets, total = [], [], 0
  outputs = {name: open(os.path.join(temporary, f'{name}.u8'), 'wb') for name in ARRAYS}
  try:
    for record in records:
      with np.load(record.cache_file) as data:
        for name in ARRAYS:
          outputs[name].write(np.ascontiguousarray(data[name], np.uint8).tobytes())
      names.append(os.path.basename(record.cache_file))
      offsets.append(total)
      total += int(np.sum(record.track_lengths))
  finally:
    for output in outputs.values():
      output.close()
  np.savez(os.path.join(temporary, 'index.npz'), names=np.array(names, dtype=str),
           offsets=np.array(offsets, np.int64), total=np.int64(total))
  try:
    os.replace(temporary, folder)
  except OSError:  # Another run finished the same store first.
    shutil.rmtree(temporary, ignore_errors=True)


def open_store(folder: str) -> TokenStore:
  """The store in ``folder``; an error (OSError, ValueError, or the zip reader's) when one of
  its files is missing, damaged or not as long as its index says."""
  with np.load(os.path.join(folder, 'index.npz')) as index:
    names, offsets, total = index['names'], index['offsets'], int(index['total'])
  for name in ARRAYS:
    size = os.path.getsize(os.path.join(folder, f'{name}.u8'))
    if size != total:
      raise ValueError(f'{name}.u8 holds {size} steps, its index {total}')
  arrays = {name: (np.memmap(os.path.join(folder, f'{name}.u8'), np.uint8, 'r', shape=(total,))
                   if total else np.zeros(0, np.uint8)) for name in ARRAYS}
  return TokenStore(folder, arrays, dict(zip(names.tolist(), offsets.tolist())))


def _open_or_rebuild(records: Sequence[FileRecord], folder: str,
                     warn: Callable[[str], None]) -> TokenStore:
  """The store of ``records`` in ``folder``, built when there is none, and built again (with a
  warning) when a file of it is missing or damaged, as a damaged parse-cache entry is parsed
  again."""
  if os.path.exists(folder):
    try:
      return open_store(folder)
    except Exception as error:  # pylint: disable=broad-except  # Damage shows in many ways.
      warn(f'warning: damaged token store {folder} ({type(error).__name__}: {error}); '
           'building it again')
      shutil.rmtree(folder, ignore_errors=True)
  os.makedirs(os.path.dirname(folder), exist_ok=True)
  build(records, folder)
  return open_store(folder)


def shard_of(record: FileRecord) -> int:
  """The cache file's name is a SHA-1 of the file's path, size, time and encoding."""
  return int(os.path.basename(record.cache_file)[:8], 16) % SHARDS


def stored(records: Sequence[FileRecord], cache_dir: str,
           warn: Callable[[str], None] = lambda _: None
           ) -> tuple[list[FileRecord], list[TokenStore]]:
  """``records`` reading their arrays from the stores of their shards (each built when there
  is none yet for exactly its files, or it is damaged), and those stores."""
  by_shard = {}
  for record in records:
    by_shard.setdefault(shard_of(record), []).append(record)
  stores = {shard: _open_or_rebuild(shard_records, folder_for(shard_records, cache_dir), warn)
            for shard, shard_records in by_shard.items()}

  def from_store(record):
    store = stores[shard_of(record)]
    return dataclasses.replace(record, store=store.arrays,
                               store_offset=store.offsets[os.path.basename(record.cache_file)])

  return [from_store(r) for r in records], list(stores.values())
