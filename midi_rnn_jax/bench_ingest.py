"""bench parts ingest and ingest_scale: how fast MIDI folders are read, parsed into the cache
and the token store, and trained from; each runs in its own process (``bench.run_part``)."""

from __future__ import annotations

import os
import resource
import tempfile
import time

from midi_rnn_jax.errors import UserError

def peak_rss_mb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_ingest(data_dir: str, window_size: int) -> list[dict]:
  from midi_rnn_jax.data import dataset  # pylint: disable=import-outside-toplevel
  num_files = len(dataset.find_midi_files(data_dir))
  rows = []
  with tempfile.TemporaryDirectory() as cache:
    for label, n_jobs, cache_dir in (('cold_j1', 1, os.path.join(cache, 'one')),
                                     ('cold_j2', 2, os.path.join(cache, 'two')),
                                     ('warm', 1, os.path.join(cache, 'two'))):
      start = time.perf_counter()
      dataset.load_corpus(data_dir, window_size, cache_dir, n_jobs, lambda _: None)
      rows.append({'figure': f'ingest_files_per_s_{label}',
                   'value': round(num_files / (time.perf_counter() - start), 1),
                   'files': num_files, 'n_jobs': n_jobs})
  rows.append({'figure': 'ingest_peak_rss_mb', 'value': round(peak_rss_mb(), 1)})
  return rows


# miditoolkit parses ~40 files/s: time it on this many files at most.
MIDITOOLKIT_SAMPLE = 1000


def write_synthetic_corpus(folder: str, count: int) -> None:
  """``count`` one-track MIDI files of 48-160 steps: a random walk of notes held 1-4 steps,
  with rests, written by the project's own writer."""
  from midi_rnn_jax.data import encoding, melody_file  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  for i in range(count):
    notes = np.clip(60 + np.cumsum(rng.integers(-4, 5, 80)), 36, 96) + 1
    notes[rng.random(80) < 0.1] = encoding.REST
    tokens = np.repeat(notes, rng.integers(1, 5, 80))[:rng.integers(48, 161)]
    tokens[0] = 61
    melody_file.tokens_to_midi(tokens).dump(os.path.join(folder, f'{i:06d}.mid'))


def measure_ingest_scale(data_dir: str | None, count: int, window_size: int, model: dict
                         ) -> list[dict]:
  """Reading a large corpus: files/s of each reader, the whole parse with two processes, the
  token store's size, and peak memory while training one epoch (window mode, config A) from
  the store."""
  from midi_rnn_jax.data import (  # pylint: disable=import-outside-toplevel
      dataset, encoding, input_pipeline, readers, token_store)
  from midi_rnn_jax.model import modes, training  # pylint: disable=import-outside-toplevel
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  rows = []
  with tempfile.TemporaryDirectory() as scratch:
    if data_dir is None:
      data_dir = os.path.join(scratch, 'midi')
      os.makedirs(data_dir)
      start = time.perf_counter()
      write_synthetic_corpus(data_dir, count)
      rows.append({'figure': 'ingest_scale_generated_files', 'value': count,
                   'seconds': round(time.perf_counter() - start, 1)})
    paths = dataset.find_midi_files(data_dir)
    sample = paths[::max(1, len(paths) // MIDITOOLKIT_SAMPLE)]
    fast = [] if readers.symusic is None else [('symusic', readers.read_midi, paths)]
    for name, read, files in [('miditoolkit', readers.read_with_miditoolkit, sample)] + fast:
      start = time.perf_counter()
      for path in files:
        try:
          encoding.encode_midi(read(path))
        except UserError:
          pass
      rows.append({'figure': f'ingest_scale_files_per_s_{name}', 'files': len(files),
                   'value': round(len(files) / (time.perf_counter() - start), 1)})
    cache_dir = os.path.join(scratch, 'cache')
    start = time.perf_counter()
    corpus = dataset.load_corpus(data_dir, window_size, cache_dir, 2, lambda _: None)
    rows.append({'figure': 'ingest_scale_parse_files_per_s', 'reader': readers.NAME,
                 'n_jobs': 2, 'files': len(paths),
                 'value': round(len(paths) / (time.perf_counter() - start), 1)})
    start = time.perf_counter()
    records, stores = token_store.stored(corpus.records, cache_dir)
    rows.append({'figure': 'ingest_scale_store_mb',
                 'value': round(sum(s.bytes_on_disk() for s in stores) / 1e6, 1),
                 'shards': len(stores),
                 'steps': int(sum(r.track_lengths.sum() for r in records)),
                 'build_s': round(time.perf_counter() - start, 1)})
    config = {**model, 'window_size': window_size, 'max_files_in_ram': 25}
    tx = training.make_optimizer('adam', 1e-3, 5.0)
    graphdef, state = training.init_state(
        training.build_model(config['rnn_size'], config['num_layers'], 0.2, seed=0), tx)
    steps = training.make_steps(graphdef, tx)
    batches = modes.MODES['window'].batches(records, config, np.random.default_rng(0))
    start, windows, key = time.perf_counter(), 0, jax.random.key(0)
    for group in input_pipeline.in_groups(batches, training.STEPS_PER_CALL):
      if len(group) < training.STEPS_PER_CALL:  # The epoch's last group would compile again.
        break
      state, _ = steps.train_steps(state, input_pipeline.stack(group), key)
      windows += sum(int(b.weights.sum()) for b in group)
    jax.block_until_ready(state)
    rows.append({'figure': 'ingest_scale_epoch_windows_per_s', 'windows': windows,
                 'value': round(windows / (time.perf_counter() - start), 1)})
  rows.append({'figure': 'ingest_scale_peak_rss_mb', 'value': round(peak_rss_mb(), 1)})
  return rows
