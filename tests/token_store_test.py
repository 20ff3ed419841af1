"""The on-disk token store: the same tracks and batches as the per-file cache, built once."""

import os

import numpy as np

from conftest import scale_melody, write_midi
from midi_rnn_jax.data import cached_tracks, dataset, input_pipeline, model_inputs, token_store

WINDOW = 8


def corpus(tmp_path, count=12):
  data = tmp_path / 'data'
  data.mkdir(exist_ok=True)
  for i in range(count):
    write_midi(data / f'tune{i:02d}.mid', [(scale_melody(20 + 7 * i, 120, 48 + i), False),
                                           (scale_melody(5, 120), False)])  # Too short.
  return dataset.load_corpus(str(data), WINDOW, str(tmp_path / 'cache'), 1,
                             lambda _: None).records


def test_stored_tracks_and_batches_equal_the_cached_ones(tmp_path):
  records = corpus(tmp_path)
  stored, stores = token_store.stored(records, str(tmp_path / 'cache'))
  assert (sum(store.bytes_on_disk() for store in stores)
          > 3 * sum(int(r.track_lengths.sum()) for r in records))
  for plain, from_store in zip(records, stored):
    tracks, meters = cached_tracks.load_tracks_and_meters(plain, WINDOW)
    stored_tracks, stored_meters = cached_tracks.load_tracks_and_meters(from_store, WINDOW)
    assert isinstance(stored_tracks[0], np.memmap)  # Read from the store, not a cache file.
    for a, b in zip(tracks + [m.positions for m in meters] + [m.bar_lengths for m in meters],
                    stored_tracks + [m.positions for m in stored_meters]
                    + [m.bar_lengths for m in stored_meters], strict=True):
      np.testing.assert_array_equal(a, b)
  for iterate in (input_pipeline.iterate_batches, input_pipeline.iterate_sequences):
    extra = {'sequence_length': 16} if iterate is input_pipeline.iterate_sequences else {}
    plain, from_store = ([*iterate(r, window_size=WINDOW, batch_size=16, max_files_in_ram=3,
                                   rng=np.random.default_rng(4), inputs=model_inputs.NAMES,
                                   **extra)] for r in (records, stored))
    assert plain[0].inputs.lookback is not None
    for a, b in zip(plain, from_store, strict=True):
      model_inputs.map_arrays(np.testing.assert_array_equal, a, b)


def test_the_store_is_found_again_and_a_new_file_rebuilds_one_shard(tmp_path):
  records = corpus(tmp_path, count=30)
  _, stores = token_store.stored(records[:-1], str(tmp_path / 'cache'))
  assert 1 < len(stores) <= token_store.SHARDS
  built = {store.folder: os.stat(store.folder).st_mtime_ns for store in stores}
  _, again = token_store.stored(records[:-1], str(tmp_path / 'cache'))
  assert {store.folder: os.stat(store.folder).st_mtime_ns for store in again} == built
  _, more = token_store.stored(records, str(tmp_path / 'cache'))  # One file more.
  assert len({store.folder for store in more} - set(built)) == 1
  assert not [name for name in os.listdir(tmp_path / 'cache' / 'stores') if 'tmp' in name]


def test_a_deleted_or_truncated_store_file_is_rebuilt_with_a_warning(tmp_path):
  records = corpus(tmp_path, count=30)
  expected = [cached_tracks.load_tracks(r, WINDOW) for r in records]
  _, stores = token_store.stored(records, str(tmp_path / 'cache'))
  os.remove(os.path.join(stores[0].folder, 'tokens.u8'))
  with open(os.path.join(stores[1].folder, 'positions.u8'), 'r+b') as f:
    f.truncate(3)
  with open(os.path.join(stores[2].folder, 'index.npz'), 'wb') as f:
    f.write(b'not a zip')
  warnings = []
  stored, _ = token_store.stored(records, str(tmp_path / 'cache'), warnings.append)
  assert len(warnings) == 3 and all(w.startswith('warning: damaged token store') for w in warnings)
  assert {w.split()[4] for w in warnings} == {s.folder for s in stores[:3]}
  for tracks, record in zip(expected, stored, strict=True):
    for a, b in zip(tracks, cached_tracks.load_tracks(record, WINDOW), strict=True):
      np.testing.assert_array_equal(a, b)
