"""The single-file model format of ``python -m midi_rnn_jax.export``: config, parameters and
prime windows in one msgpack file, for sampling without the experiment or any MIDI."""

from __future__ import annotations

import json

import numpy as np
from flax import nnx, serialization

from midi_rnn_jax import files
from midi_rnn_jax.data import encoding
from midi_rnn_jax.errors import UserError
from midi_rnn_jax.model import checkpoints, training

MODEL_FORMAT = 'midi_rnn_jax.model'


def write_model_file(path: str, config: dict, params: dict, primes: np.ndarray,
                     meters: list[encoding.Meter]) -> None:
  """One msgpack file: the config (as JSON), the parameters (a nested dict of
  arrays) and prime windows (with their bar positions) for sampling without any MIDI at
  hand."""
  shape = np.shape(primes)
  payload = {'format': MODEL_FORMAT, 'encoding_version': encoding.ENCODING_VERSION,
             'config': json.dumps(config, sort_keys=True), 'params': params,
             'primes': np.asarray(primes, np.uint8),
             'prime_positions': np.array([m.positions for m in meters], np.uint8).reshape(shape),
             'prime_bar_lengths': np.array([m.bar_lengths for m in meters],
                                           np.uint8).reshape(shape),
             'prime_beat_units': np.array([m.beat_units for m in meters],
                                          np.uint8).reshape(shape)}
  data = serialization.msgpack_serialize(payload)
  files.write_atomically(path, lambda f: f.write(data), '--out')


def read_model_file(path: str) -> tuple[dict, dict, np.ndarray, list[encoding.Meter]]:
  """(config, parameters as a nested dict, prime windows, their meters) of a model file.
  Files written before bar positions existed get windows that start on a 4/4 bar line, and
  files written before beat units, quarter-note beats."""
  try:
    with open(path, 'rb') as f:
      payload = serialization.msgpack_restore(f.read())
  except Exception as error:  # OSError, or any of msgpack's errors on a damaged file.
    raise UserError(f'--model {path!r} cannot be read: {error}') from None
  if not isinstance(payload, dict) or payload.get('format') != MODEL_FORMAT:
    raise UserError(f'--model {path!r} is not a midi_rnn_jax model file')
  if payload['encoding_version'] != encoding.ENCODING_VERSION:
    raise UserError(f'--model {path!r} uses encoding version {payload["encoding_version"]}; '
                    f'this midi_rnn_jax uses {encoding.ENCODING_VERSION}')
  checkpoints.check_finite(payload['params'], f'--model {path!r}')
  config, primes = json.loads(payload['config']), payload['primes']
  training.check_config(config, f'--model {path!r}')
  if 'prime_positions' in payload:
    bar_lengths = payload['prime_bar_lengths']
    beat_units = payload.get('prime_beat_units', np.full_like(bar_lengths, 4))
    meters = [encoding.Meter(*meter) for meter in zip(payload['prime_positions'], bar_lengths,
                                                      beat_units)]
  else:
    meters = [encoding.Meter.on_downbeat(primes.shape[1], 4 * config['steps_per_quarter'])
              for _ in primes]
  return config, payload['params'], primes, meters


def load_model_file(path: str) -> tuple[dict, nnx.GraphDef, nnx.State, np.ndarray,
                                        list[encoding.Meter]]:
  """(config, graphdef, parameters, prime windows, their meters) of a model file: its model
  built from its config and filled with its parameters, or a UserError naming the first
  parameter that does not fit (a file of another version)."""
  config, pure_params, primes, meters = read_model_file(path)
  graphdef, params = training.model_from_config(config)
  if (mismatch := training.shape_mismatch(params, training.param_shapes(pure_params))):
    raise UserError(f'--model {path!r} does not hold the model its own config describes: '
                    f'{mismatch} (a file of another version of midi_rnn_jax?)')
  nnx.replace_by_pure_dict(params, pure_params)
  return config, graphdef, params, primes, meters
