"""Where windows (the window mode) and chunks (the sequence mode) are cut from tracks laid end
to end: index arithmetic only, no copies of the tracks beyond the examples themselves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from midi_rnn_jax.data.encoding import REST, ragged_arange
from midi_rnn_jax.data.model_inputs import StepInputs, map_arrays


def window_starts(track_lengths: np.ndarray, window_size: int) -> np.ndarray:
  """Offsets into the concatenated tracks of every window that has a target.

  A window never crosses a track boundary: its inputs are
  ``flat[s : s + window_size]`` and its target ``flat[s + window_size]``.
  """
  track_lengths = np.asarray(track_lengths, dtype=np.int64)
  per_track = np.maximum(track_lengths - window_size, 0)
  track_offsets = np.cumsum(track_lengths) - track_lengths
  return np.repeat(track_offsets, per_track) + ragged_arange(per_track)


def windows(steps: StepInputs, starts: np.ndarray, window_size: int
            ) -> tuple[StepInputs, np.ndarray]:
  """(inputs (N, window_size[, columns]), targets (N,)) of the windows at ``starts`` of tracks
  laid end to end (``steps``), cut by fancy indexing."""
  index = starts[:, None] + np.arange(window_size)
  return map_arrays(lambda values: values[index], steps), steps.tokens[starts + window_size]


def every_window(tracks: Sequence[StepInputs], window_size: int
                 ) -> tuple[StepInputs, np.ndarray]:
  """(contexts (N, window[, columns]), targets (N,)) of every window of the tracks, in order."""
  starts = window_starts([len(t.tokens) for t in tracks], window_size)
  return windows(map_arrays(lambda *values: np.concatenate(values), *tracks), starts,
                 window_size)


def chunk_index(track_lengths: np.ndarray, length: int, offsets: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
  """Chunks that predict every step after a track's first exactly once, as indices into the
  concatenated tracks: (index (chunks, length) of each chunk's input steps, mask of the
  steps that exist). A chunk's targets are at ``index + 1``.

  A chunk reads up to ``length`` steps of one track; a track's chunk boundaries fall at
  ``offset + k * length`` (so its first chunk may be shorter); short chunks are padded.
  """
  track_lengths = np.asarray(track_lengths, np.int64)
  track_starts = np.cumsum(track_lengths) - track_lengths
  begins, ends = [], []
  for start, size, offset in zip(track_starts, track_lengths, offsets):
    bounds = np.arange(offset - length if offset else 0, size - 1, length)
    begins.append(start + np.maximum(bounds, 0))
    ends.append(start + np.minimum(bounds + length, size - 1))
  begins, ends = np.concatenate(begins), np.concatenate(ends)
  index = begins[:, None] + np.arange(length)
  valid = index < ends[:, None]
  return np.where(valid, index, 0), valid


def chunks(steps: StepInputs, track_lengths, length: int, offsets: np.ndarray
           ) -> tuple[StepInputs, np.ndarray, np.ndarray]:
  """(inputs, targets, weights) of the ``chunk_index`` chunks of tracks laid end to end
  (``steps``), each (chunks, length[, columns]); weight 0 (and zeros, rests) where a short chunk
  is padded."""
  index, valid = chunk_index(track_lengths, length, offsets)

  def padded(values):
    mask = valid.reshape(valid.shape + (1,) * (values.ndim - 1))
    return np.where(mask, values[index], 0).astype(np.uint8)

  targets = np.where(valid, steps.tokens[index + valid], REST).astype(np.uint8)
  return map_arrays(padded, steps), targets, valid.astype(np.float32)
