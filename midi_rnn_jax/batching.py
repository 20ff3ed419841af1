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
  sequence_length). Lookbacks add an axis to the inputs' shape."""
  inputs: np.ndarray  # uint8
  targets: np.ndarray  # uint8
  weights: np.ndarray  # float32: 0 marks padding
  positions: np.ndarray | None = None  # uint8: each input step's index in its bar
  # uint8 (..., 2 * len(LOOKBACK_BARS)): encoding.lookback_inputs of each input step; None
  # for a model without them.
  lookbacks: np.ndarray | None = None


def _fields(fn, *batches: Batch) -> Batch:
  """``fn`` applied to each field across ``batches``; fields that are None stay None."""
  return Batch(*(None if fields[0] is None else fn(*fields) for fields in zip(*batches)))


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
  # The lookback tokens move too; the repeat flags after them do not.
  num_bars = len(encoding.LOOKBACK_BARS)
  lookbacks = (np.zeros((len(tokens), 0), np.int64) if batch.lookbacks is None
               else batch.lookbacks[..., :num_bars].reshape(len(tokens), -1).astype(np.int64))
  everything = np.concatenate([tokens, lookbacks], axis=1)
  sounding = (everything != encoding.REST) & (everything != encoding.NO_LOOKBACK)
  lowest = np.where(sounding, everything - 1, 127).min(axis=1)
  highest = np.where(sounding, everything - 1, 0).max(axis=1)
  shift = rng.integers(np.maximum(-max_semitones, -lowest),
                       np.minimum(max_semitones, 127 - highest) + 1)
  everything = np.where(sounding, everything + shift[:, None], everything).astype(np.uint8)
  tokens, lookbacks = everything[:, :tokens.shape[1]], everything[:, tokens.shape[1]:]
  return batch._replace(
      inputs=tokens[:, :-1],
      targets=tokens[:, -targets.shape[1]:].reshape(batch.targets.shape),
      lookbacks=None if batch.lookbacks is None else np.concatenate(
          [lookbacks.reshape(batch.lookbacks[..., :num_bars].shape),
           batch.lookbacks[..., num_bars:]], axis=-1))


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
  return _fields(lambda *fields: np.stack(fields), *batches)


def _concatenate(*fields: np.ndarray) -> np.ndarray:
  return np.concatenate(fields)


def _batched(groups: Iterator[Batch], batch_size: int) -> Iterator[Batch]:
  """Fixed-shape batches of the examples in ``groups`` (each a Batch of any length), in order.
  The last batch is padded, and its padding has weight 0, so no example is dropped and shapes
  never change."""
  pending = None
  for group in groups:
    pending = group if pending is None else _fields(_concatenate, pending, group)
    num_full = len(pending.targets) // batch_size * batch_size
    for i in range(0, num_full, batch_size):
      yield _fields(lambda field: field[i:i + batch_size], pending)
    pending = _fields(lambda field: field[num_full:], pending)
  if pending is not None and len(pending.targets):
    padding = batch_size - len(pending.targets)
    yield _fields(lambda f: np.pad(f, [(0, padding)] + [(0, 0)] * (f.ndim - 1)), pending)


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
    buffer = group if buffer is None else _fields(_concatenate, buffer, group)
    leaving = rng.permutation(len(buffer.targets))
    staying, leaving = leaving[:size], leaving[size:]
    if len(leaving):
      yield _fields(lambda field: field[leaving], buffer)
    buffer = _fields(lambda field: field[staying], buffer)
  if buffer is not None:
    yield buffer


class TrackGroup(NamedTuple):
  """The usable tracks of some files, and their steps' features, concatenated."""
  tracks: list[np.ndarray]
  positions: np.ndarray
  lookbacks: np.ndarray | None  # None unless asked for


def _tracks_in_groups(records: Sequence[FileRecord], window_size: int, max_files_in_ram: int,
                      rng: np.random.Generator | None, lookback: bool) -> Iterator[TrackGroup]:
  """The usable tracks of ``max_files_in_ram`` files at a time (files shuffled with an
  ``rng``)."""
  order = rng.permutation(len(records)) if rng is not None else np.arange(len(records))
  for first in range(0, len(order), max_files_in_ram):
    group = [records[i] for i in order[first:first + max_files_in_ram]]
    tracks, meters = all_tracks_and_meters(group, window_size)
    lookbacks = (np.concatenate([encoding.lookback_inputs(t, m.positions)
                                 for t, m in zip(tracks, meters)]) if lookback else None)
    yield TrackGroup(tracks, np.concatenate([m.positions for m in meters]), lookbacks)


def iterate_batches(records: Sequence[FileRecord], *, window_size: int, batch_size: int,
                    max_files_in_ram: int, rng: np.random.Generator | None,
                    lookback: bool = False) -> Iterator[Batch]:
  """Every window of ``records`` once, in fixed-shape batches (the window mode).

  Files are read ``max_files_in_ram`` at a time; with an ``rng`` the file order
  and the windows within each group are shuffled, and a shuffle buffer mixes the groups.
  The last batch is padded and its padding has weight 0, so no window is dropped and
  shapes never change. ``lookback``: the batches carry lookback tokens.
  """

  def windows(group: TrackGroup):
    starts = encoding.window_starts([len(t) for t in group.tracks], window_size)
    if rng is not None:
      rng.shuffle(starts)
    inputs, targets = encoding.gather_windows(np.concatenate(group.tracks), starts, window_size)
    window_positions, _ = encoding.gather_windows(group.positions, starts, window_size)
    window_lookbacks = (None if group.lookbacks is None
                        else encoding.gather_windows(group.lookbacks, starts, window_size)[0])
    return Batch(inputs, targets, np.ones(len(targets), np.float32), window_positions,
                 window_lookbacks)

  examples = map(windows, _tracks_in_groups(records, window_size, max_files_in_ram, rng,
                                            lookback))
  return _batched(examples if rng is None else _shuffle_buffer(examples, SHUFFLE_BUFFER, rng),
                  batch_size)


def iterate_sequences(records: Sequence[FileRecord], *, window_size: int, sequence_length: int,
                      batch_size: int, max_files_in_ram: int, rng: np.random.Generator | None,
                      lookback: bool = False) -> Iterator[Batch]:
  """Every step of every usable track of ``records`` once as a target, in chunks of
  ``sequence_length`` steps (the sequence mode): Batch fields are (batch, sequence_length).

  With an ``rng``, each track's chunk boundaries move by a random offset every epoch, and
  files and chunks are shuffled, as ``iterate_batches`` does with windows.
  """

  def chunks(group: TrackGroup):
    offsets = (rng.integers(0, sequence_length, len(group.tracks)) if rng is not None
               else np.zeros(len(group.tracks), np.int64))
    chunked = Batch(*encoding.sequence_chunks(group.tracks, sequence_length, offsets,
                                              group.positions, group.lookbacks))
    if rng is None:
      return chunked
    order = rng.permutation(len(chunked.targets))
    return _fields(lambda field: field[order], chunked)

  examples = map(chunks, _tracks_in_groups(records, window_size, max_files_in_ram, rng,
                                           lookback))
  return _batched(examples if rng is None else _shuffle_buffer(examples, SHUFFLE_BUFFER, rng),
                  batch_size)
