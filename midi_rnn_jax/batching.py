"""Records -> batches: windows (the window mode) or chunks (the sequence mode) of the usable
tracks, read ``max_files_in_ram`` files at a time and mixed in a shuffle buffer, in
fixed-shape batches; and transposition, the augmentation applied to them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from midi_rnn_jax import encoding
from midi_rnn_jax.cached_tracks import all_tracks_and_meters
from midi_rnn_jax.input_pipeline import FileRecord


class Batch(NamedTuple):
  """A pytree, so it passes straight into jitted steps. Window mode: inputs and positions
  (batch, window), targets and weights (batch,); sequence mode: all four (batch,
  sequence_length)."""
  inputs: np.ndarray  # uint8
  targets: np.ndarray  # uint8
  weights: np.ndarray  # float32: 0 marks padding
  positions: np.ndarray | None = None  # uint8: each input step's index in its bar


def transpose(batch: Batch, max_semitones: int, rng: np.random.Generator) -> Batch:
  """Shifts each example (inputs and targets) by a random number of semitones.

  The shift is uniform over the shifts within +-max_semitones that keep all of
  the example's pitches inside MIDI's 0-127; rests stay rests. Works on windows (one
  target each) and on sequence chunks (targets are the inputs moved by one step).
  """
  targets = batch.targets.reshape(len(batch.targets), -1)
  # The whole example: the inputs that no target repeats, then the targets.
  leading = batch.inputs[:, :batch.inputs.shape[1] - targets.shape[1] + 1]
  tokens = np.concatenate([leading, targets], axis=1).astype(np.int64)
  sounding = tokens != encoding.REST
  lowest = np.where(sounding, tokens - 1, 127).min(axis=1)
  highest = np.where(sounding, tokens - 1, 0).max(axis=1)
  shift = rng.integers(np.maximum(-max_semitones, -lowest),
                       np.minimum(max_semitones, 127 - highest) + 1)
  tokens = np.where(sounding, tokens + shift[:, None], encoding.REST).astype(np.uint8)
  return batch._replace(inputs=tokens[:, :-1],
                        targets=tokens[:, -targets.shape[1]:].reshape(batch.targets.shape))


def in_groups(items, size: int):
  """Lists of ``size`` consecutive items; the last one may be shorter."""
  group = []
  for item in items:
    group.append(item)
    if len(group) == size:
      yield group
      group = []
  if group:
    yield group


def stack(batches: Sequence[Batch]) -> Batch:
  """Batches of one shape stacked along a new first axis (for a scan over steps)."""
  return Batch(*(None if field[0] is None else np.stack(field) for field in zip(*batches)))


def _batched(groups: Iterator[Batch], batch_size: int) -> Iterator[Batch]:
  """Fixed-shape batches of the examples in ``groups`` (each a Batch of any length), in order.
  The last batch is padded, and its padding has weight 0, so no example is dropped and shapes
  never change."""
  pending = None
  for group in groups:
    pending = group if pending is None else Batch(*map(np.concatenate, zip(pending, group)))
    num_full = len(pending.targets) // batch_size * batch_size
    for i in range(0, num_full, batch_size):
      yield Batch(*(field[i:i + batch_size] for field in pending))
    pending = Batch(*(field[num_full:] for field in pending))
  if pending is not None and len(pending.targets):
    padding = batch_size - len(pending.targets)
    yield Batch(*(np.pad(f, [(0, padding)] + [(0, 0)] * (f.ndim - 1)) for f in pending))


# Examples (windows or chunks) mixed across file groups before batching: with
# --max_files_in_ram 1, a batch still draws on several files (a window is ~40 bytes, a
# 128-step chunk ~400: a few MB at most).
SHUFFLE_BUFFER = 16384


def _shuffle_buffer(groups: Iterator[Batch], size: int, rng: np.random.Generator
                    ) -> Iterator[Batch]:
  """The examples of ``groups`` in a mixed order: each group joins a buffer, from which
  random examples leave until ``size`` remain (all of them after the last group)."""
  buffer = None
  for group in groups:
    buffer = group if buffer is None else Batch(*map(np.concatenate, zip(buffer, group)))
    leaving = rng.permutation(len(buffer.targets))
    staying, leaving = leaving[:size], leaving[size:]
    if len(leaving):
      yield Batch(*(field[leaving] for field in buffer))
    buffer = Batch(*(field[staying] for field in buffer))
  if buffer is not None:
    yield buffer


def _tracks_in_groups(records: Sequence[FileRecord], window_size: int, max_files_in_ram: int,
                      rng: np.random.Generator | None
                      ) -> Iterator[tuple[list[np.ndarray], np.ndarray]]:
  """The usable tracks of ``max_files_in_ram`` files at a time (files shuffled with an
  ``rng``), and the bar positions of their steps, concatenated."""
  order = rng.permutation(len(records)) if rng is not None else np.arange(len(records))
  for first in range(0, len(order), max_files_in_ram):
    group = [records[i] for i in order[first:first + max_files_in_ram]]
    tracks, meters = all_tracks_and_meters(group, window_size)
    yield tracks, np.concatenate([m.positions for m in meters])


def iterate_batches(records: Sequence[FileRecord], *, window_size: int, batch_size: int,
                    max_files_in_ram: int, rng: np.random.Generator | None) -> Iterator[Batch]:
  """Every window of ``records`` once, in fixed-shape batches (the window mode).

  Files are read ``max_files_in_ram`` at a time; with an ``rng`` the file order
  and the windows within each group are shuffled, and a shuffle buffer mixes the groups.
  The last batch is padded and its padding has weight 0, so no window is dropped and
  shapes never change.
  """

  def windows(group):
    tracks, positions = group
    starts = encoding.window_starts([len(t) for t in tracks], window_size)
    if rng is not None:
      rng.shuffle(starts)
    inputs, targets = encoding.gather_windows(np.concatenate(tracks), starts, window_size)
    window_positions, _ = encoding.gather_windows(positions, starts, window_size)
    return Batch(inputs, targets, np.ones(len(targets), np.float32), window_positions)

  examples = map(windows, _tracks_in_groups(records, window_size, max_files_in_ram, rng))
  return _batched(examples if rng is None else _shuffle_buffer(examples, SHUFFLE_BUFFER, rng),
                  batch_size)


def iterate_sequences(records: Sequence[FileRecord], *, window_size: int, sequence_length: int,
                      batch_size: int, max_files_in_ram: int, rng: np.random.Generator | None
                      ) -> Iterator[Batch]:
  """Every step of every usable track of ``records`` once as a target, in chunks of
  ``sequence_length`` steps (the sequence mode): Batch fields are (batch, sequence_length).

  With an ``rng``, each track's chunk boundaries move by a random offset every epoch, and
  files and chunks are shuffled, as ``iterate_batches`` does with windows.
  """

  def chunks(group):
    tracks, positions = group
    offsets = (rng.integers(0, sequence_length, len(tracks)) if rng is not None
               else np.zeros(len(tracks), np.int64))
    chunked = Batch(*encoding.sequence_chunks(tracks, sequence_length, offsets, positions))
    if rng is None:
      return chunked
    order = rng.permutation(len(chunked.targets))
    return Batch(*(field[order] for field in chunked))

  examples = map(chunks, _tracks_in_groups(records, window_size, max_files_in_ram, rng))
  return _batched(examples if rng is None else _shuffle_buffer(examples, SHUFFLE_BUFFER, rng),
                  batch_size)
