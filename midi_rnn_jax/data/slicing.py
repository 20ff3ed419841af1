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


def packed_rows(steps: StepInputs, track_lengths, length: int, order: np.ndarray,
                shift: int = 0, per_step: np.ndarray | None = None
                ) -> tuple[StepInputs, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
  """(inputs, targets, weights, starts, per_step), each (rows, length[, columns]), of the
  tracks laid end to end (``steps``) taken in ``order`` and cut into rows of ``length`` input
  steps. Every step of a track but its last is an input step, whose target is the next; a
  track goes on in the next row where a row ends; ``starts`` is 1 at each track's first step,
  where the model's state restarts. Only the first row's first ``shift`` steps (which move
  where rows cut the tracks) and the last row's end are padding (weight 0, zeros, rests).
  ``per_step``: any other array of one value per step of the tracks (as ``steps.tokens``), cut
  the same way, or None."""
  track_lengths = np.asarray(track_lengths, np.int64)
  track_starts = np.cumsum(track_lengths) - track_lengths
  inputs_per_track = track_lengths[order] - 1
  index = np.repeat(track_starts[order], inputs_per_track) + ragged_arange(inputs_per_track)
  starts = np.zeros(len(index), np.uint8)
  starts[(np.cumsum(inputs_per_track) - inputs_per_track)[inputs_per_track > 0]] = 1
  padding = -(shift + len(index)) % length
  valid = np.pad(np.ones(len(index), bool), (shift, padding)).reshape(-1, length)
  index = np.pad(index, (shift, padding)).reshape(-1, length)

  def padded(values):
    mask = valid.reshape(valid.shape + (1,) * (values.ndim - 1))
    return np.where(mask, values[index], 0).astype(np.uint8)

  targets = np.where(valid, steps.tokens[index + valid], REST).astype(np.uint8)
  return (map_arrays(padded, steps), targets, valid.astype(np.float32),
          np.pad(starts, (shift, padding)).reshape(-1, length), map_arrays(padded, per_step))
