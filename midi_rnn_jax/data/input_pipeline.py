"""Records -> batches: windows (the window mode) or chunks (the sequence mode) of the usable
tracks, read ``max_files_in_ram`` files at a time and mixed in a shuffle buffer, in
fixed-shape batches; and transposition, the augmentation applied to them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from midi_rnn_jax.data import bar_copies, cached_tracks, encoding, model_inputs, slicing
from midi_rnn_jax.data.model_inputs import StepInputs
from midi_rnn_jax.data.parse_cache import FileRecord


class Batch(NamedTuple):
  """A pytree, so it passes straight into jitted steps. Window mode: inputs (batch, window),
  targets and weights (batch,); sequence mode: all (batch, sequence_length). An input of
  several columns adds an axis to the inputs' shape."""
  inputs: StepInputs  # uint8: each input step's token and the model's other inputs
  targets: np.ndarray  # uint8
  weights: np.ndarray  # float32: 0 marks padding
  # uint8, sequence mode: 1 where a track starts inside a row that packs several (the model's
  # state restarts from zero there); None in the window mode.
  starts: np.ndarray | None = None
  # uint8, sequence mode with --copy_bars: each input step's bar_copies.copy_targets.
  bar_copies: np.ndarray | None = None


def _fields(fn, *batches: Batch) -> Batch:
  """``fn`` applied to each array across ``batches``; inputs that are None stay None."""
  return model_inputs.map_arrays(fn, *batches)


def transpose(batch: Batch, max_semitones: int, rng: np.random.Generator) -> Batch:
  """Shifts each example by a random number of semitones: its tokens, its targets, and the
  columns of its inputs that hold pitches (``model_inputs.Input.pitched``).

  The shift is uniform over the shifts within +-max_semitones that keep all of the example's
  pitches inside MIDI's 0-127; rests (and NO_LOOKBACK) stay as they are. Works on windows (one
  target each) and on sequence chunks.
  """
  count = len(batch.targets)
  pitched = [batch.targets, batch.inputs.tokens] + [
      getattr(batch.inputs, i.name)[..., :i.pitched] for i in model_inputs.INPUTS
      if i.pitched and getattr(batch.inputs, i.name) is not None]
  everything = np.concatenate([p.reshape(count, -1) for p in pitched], axis=1).astype(np.int64)
  sounding = (everything > encoding.REST) & (everything <= 128)
  lowest = np.where(sounding, everything - 1, 127).min(axis=1)
  highest = np.where(sounding, everything - 1, 0).max(axis=1)
  shift = rng.integers(np.maximum(-max_semitones, -lowest),
                       np.minimum(max_semitones, 127 - highest) + 1)

  def moved(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.int64)
    by = shift.reshape((count,) + (1,) * (values.ndim - 1))
    return np.where((values > encoding.REST) & (values <= 128), values + by,
                    values).astype(np.uint8)

  inputs = batch.inputs._replace(tokens=moved(batch.inputs.tokens), **{
      i.name: np.concatenate([moved(values[..., :i.pitched]), values[..., i.pitched:]], -1)
      for i in model_inputs.INPUTS
      if i.pitched and (values := getattr(batch.inputs, i.name)) is not None})
  return batch._replace(inputs=inputs, targets=moved(batch.targets))


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
  """The usable tracks of some files: their lengths, their steps' inputs laid end to end, and
  with ``copy_bars`` their steps' bar_copies.copy_targets (else None)."""
  lengths: list[int]
  steps: StepInputs
  bar_copies: np.ndarray | None = None


# One run's model inputs of each file's tracks (path -> (StepInputs, copy targets or None) per
# track), computed in its first epoch and reused by the others; only for a run whose files all
# fit in memory at once.
TrackCache = dict


def _file_inputs(record: FileRecord, window_size: int, inputs: tuple[str, ...], tune_ends: bool,
                 copy_bars: bool, cache: TrackCache | None, end_copies: bool = False
                 ) -> list[tuple]:
  if cache is not None and record.path in cache:
    return cache[record.path]
  tracks, meters = cached_tracks.load_tracks_and_meters(record, window_size)
  steps = [model_inputs.model_track(t, m, inputs, tune_ends) for t, m in zip(tracks, meters)]
  steps = [(s, bar_copies.copy_targets(s.tokens, s.bar_position, end_copies) if copy_bars
           else None)
           for s in steps]
  if cache is not None:
    cache[record.path] = steps
  return steps


def _tracks_in_groups(records: Sequence[FileRecord], window_size: int, max_files_in_ram: int,
                      rng: np.random.Generator | None, inputs: tuple[str, ...],
                      tune_ends: bool = False, copy_bars: bool = False,
                      cache: TrackCache | None = None, end_copies: bool = False
                      ) -> Iterator[TrackGroup]:
  """The usable tracks of ``max_files_in_ram`` files at a time (files shuffled with an
  ``rng``), with the model ``inputs`` (and between TUNE_END marks with ``tune_ends``, and
  with each step's copy targets with ``copy_bars``)."""
  order = rng.permutation(len(records)) if rng is not None else np.arange(len(records))
  for first in range(0, len(order), max_files_in_ram):
    tracks = [track for i in order[first:first + max_files_in_ram] for track in
              _file_inputs(records[i], window_size, inputs, tune_ends, copy_bars, cache,
                           end_copies)]
    steps, copies = zip(*tracks) if tracks else ((), ())
    yield TrackGroup([len(s.tokens) for s in steps],
                     model_inputs.map_arrays(lambda *a: np.concatenate(a), *steps),
                     np.concatenate(copies) if copy_bars and copies else None)


def iterate_batches(records: Sequence[FileRecord], *, window_size: int, batch_size: int,
                    max_files_in_ram: int, rng: np.random.Generator | None,
                    inputs: tuple[str, ...] = (), cache: TrackCache | None = None
                    ) -> Iterator[Batch]:
  """Every window of ``records`` once, in fixed-shape batches (the window mode), with the model
  ``inputs`` (model_inputs.NAMES).

  Files are read ``max_files_in_ram`` at a time; with an ``rng`` the file order
  and the windows within each group are shuffled, and a shuffle buffer mixes the groups.
  The last batch is padded and its padding has weight 0, so no window is dropped and
  shapes never change.
  """

  def windows(group: TrackGroup):
    starts = slicing.window_starts(group.lengths, window_size)
    if rng is not None:
      rng.shuffle(starts)
    window_inputs, targets = slicing.windows(group.steps, starts, window_size)
    return Batch(window_inputs, targets, np.ones(len(targets), np.float32))

  examples = map(windows, _tracks_in_groups(records, window_size, max_files_in_ram, rng, inputs,
                                            cache=cache))
  return _batched(examples if rng is None else _shuffle_buffer(examples, SHUFFLE_BUFFER, rng),
                  batch_size)


def iterate_sequences(records: Sequence[FileRecord], *, window_size: int, sequence_length: int,
                      batch_size: int, max_files_in_ram: int, rng: np.random.Generator | None,
                      inputs: tuple[str, ...] = (), tune_ends: bool = False,
                      copy_bars: bool = False, cache: TrackCache | None = None,
                      end_copies: bool = False) -> Iterator[Batch]:
  """Every step of every usable track of ``records`` once as a target, in rows of
  ``sequence_length`` steps (the sequence mode): Batch fields are (batch, sequence_length).

  The tracks are laid end to end and cut into rows (``slicing.packed_rows``), so a row holds
  the end of one track and the start of the next, and the model's state restarts from zero
  where each track starts (``Batch.starts``): no row is padding but the very last. With an
  ``rng`` the tracks' order, and so where rows cut them, changes every epoch, and files and
  rows are shuffled, as ``iterate_batches`` does with windows. With ``tune_ends`` each track
  is read between TUNE_END marks (``model_inputs.tune_track``): rows start at tune starts as
  well as inside tunes, and the last step of each tune has the tune's end as its target. With
  ``copy_bars`` each step's copy targets come along (``Batch.bar_copies``; ``end_copies``:
  bar_copies.copy_targets).
  """

  def rows(group: TrackGroup):
    order = (rng.permutation(len(group.lengths)) if rng is not None
             else np.arange(len(group.lengths)))
    shift = rng.integers(sequence_length) if rng is not None else 0
    packed = Batch(*slicing.packed_rows(group.steps, group.lengths, sequence_length, order,
                                        shift, group.bar_copies))
    if rng is None:
      return packed
    shuffled = rng.permutation(len(packed.targets))
    return _fields(lambda field: field[shuffled], packed)

  examples = map(rows, _tracks_in_groups(records, window_size, max_files_in_ram, rng, inputs,
                                         tune_ends, copy_bars, cache, end_copies))
  return _batched(examples if rng is None else _shuffle_buffer(examples, SHUFFLE_BUFFER, rng),
                  batch_size)
