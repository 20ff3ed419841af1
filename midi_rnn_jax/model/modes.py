"""The two model modes, decided here and nowhere else.

``window`` (the original midi-rnn's, the default): the LSTM reads a window of ``window_size``
steps from a zero state and predicts the one step after it; an epoch is every window once;
sampling re-reads the last window for every new token.

``sequence``: the same LSTM reads chunks of ``sequence_length`` steps from a zero state and
predicts the step after every step, so each chunk trains on all its steps and the model learns
to use everything it has heard; an epoch predicts every step of every track once; sampling
reads the primer once, then takes one LSTM step per token, carrying its state.

Both share the parameters' layout, the optimizer, checkpoints and the sampling controls;
``of(config)`` gives an experiment's mode (configs written before modes existed are windows).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np

from midi_rnn_jax.data import input_pipeline, model_inputs
from midi_rnn_jax.model import training
from midi_rnn_jax.data.input_pipeline import Batch
from midi_rnn_jax.data.parse_cache import FileRecord


# Rows per validation batch in the sequence mode, at least (Mode.validation_batches).
VALIDATION_ROWS = 64


@dataclasses.dataclass(frozen=True)
class Mode:
  name: str
  unit: str  # What an epoch counts: 'windows' or 'tokens'.
  logits_fn: training.LogitsFn  # The logits of Batch.targets.
  # Whether the model reads everything before a step: it is also scored with each track's
  # whole past as context, and its sampler reads the whole primer and carries its state
  # (generate.samplers.SAMPLERS holds each mode's sampler).
  carries_state: bool

  def batches(self, records: Sequence[FileRecord], config: dict,
              rng: np.random.Generator | None,
              cache: input_pipeline.TrackCache | None = None) -> Iterator[Batch]:
    common = dict(window_size=config['window_size'], batch_size=config['batch_size'],
                  max_files_in_ram=config['max_files_in_ram'], rng=rng,
                  inputs=model_inputs.of_config(config), cache=cache)
    if self.unit == 'tokens':
      return input_pipeline.iterate_sequences(records, sequence_length=config['sequence_length'],
                                              tune_ends=config.get('tune_ends', False),
                                              copy_bars=config.get('copy_bars', False),
                                              end_copies=config.get('form_decisions', False),
                                              **common)
    return input_pipeline.iterate_batches(records, **common)

  def validation_batches(self, records: Sequence[FileRecord], config: dict,
                         cache: input_pipeline.TrackCache | None = None) -> Iterator[Batch]:
    """``batches`` in their fixed order. The sequence mode reads its rows (the same rows,
    whatever the batch) at least VALIDATION_ROWS at a time, a multiple of the training batch
    so they still split over its devices: a forward pass over a few small rows is mostly
    per-call latency. The window mode keeps its batch, so its losses stay bit for bit."""
    if self.unit == 'tokens':
      rows = config['batch_size'] * max(1, VALIDATION_ROWS // config['batch_size'])
      config = {**config, 'batch_size': rows}
    return self.batches(records, config, None, cache)

  def epoch_size(self, records: Sequence[FileRecord], window_size: int,
                 tune_ends: bool = False) -> int:
    """Windows, or predicted tokens, in one epoch over ``records`` (with ``tune_ends``, each
    track's first step and its end are predicted too)."""
    if self.unit == 'tokens':
      return sum(int(np.sum(r.track_lengths[r.usable(window_size)] - 1 + 2 * tune_ends))
                 for r in records)
    return sum(r.num_windows(window_size) for r in records)


MODES = {
    'window': Mode('window', 'windows', training.window_logits, carries_state=False),
    'sequence': Mode('sequence', 'tokens', training.every_step_logits, carries_state=True),
}


assert tuple(MODES) == training.MODE_NAMES, 'a config names its mode as MODES does'


def of(config: dict) -> Mode:
  return MODES[config.get('mode', 'window')]
