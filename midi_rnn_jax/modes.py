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
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from midi_rnn_jax import batching, sampling, training
from midi_rnn_jax.batching import Batch
from midi_rnn_jax.input_pipeline import FileRecord


@dataclasses.dataclass(frozen=True)
class Mode:
  name: str
  unit: str  # What an epoch counts: 'windows' or 'tokens'.
  logits_fn: training.LogitsFn  # The logits of Batch.targets.
  make_sampler: Callable[..., Callable]  # As sampling.make_sampler.
  # Whether the model is also scored with each track's whole past as context.
  scores_whole_tracks: bool

  def batches(self, records: Sequence[FileRecord], config: dict,
              rng: np.random.Generator | None) -> Iterator[Batch]:
    common = dict(window_size=config['window_size'], batch_size=config['batch_size'],
                  max_files_in_ram=config['max_files_in_ram'], rng=rng,
                  lookback=config.get('lookback', False))
    if self.unit == 'tokens':
      return batching.iterate_sequences(records, sequence_length=config['sequence_length'],
                                              **common)
    return batching.iterate_batches(records, **common)

  def epoch_size(self, records: Sequence[FileRecord], window_size: int) -> int:
    """Windows, or predicted tokens, in one epoch over ``records``."""
    if self.unit == 'tokens':
      return sum(int(np.sum(r.track_lengths[r.usable(window_size)] - 1)) for r in records)
    return sum(r.num_windows(window_size) for r in records)

  def prime(self, primer: sampling.Primer, window_size: int) -> sampling.Primer:
    """What the sampler reads before it generates: the window mode's last ``window_size``
    steps (rests in front when shorter); the sequence mode reads the whole primer."""
    return primer if self.unit == 'tokens' else sampling.prime_window(primer, window_size)


MODES = {
    'window': Mode('window', 'windows', training.window_logits, sampling.make_sampler,
                   scores_whole_tracks=False),
    'sequence': Mode('sequence', 'tokens', training.every_step_logits,
                     sampling.make_sequence_sampler, scores_whole_tracks=True),
}


def of(config: dict) -> Mode:
  return MODES[config.get('mode', 'window')]
