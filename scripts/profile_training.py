"""Where a sequence-mode training step spends its time: a jax.profiler trace of a few jitted
calls of 16 optimizer steps (config B of bench: 256 units, 2 layers, batch 128, 128-step
rows, random tokens), read back from its Perfetto JSON and summed per kind of XLA operation.

  python scripts/profile_training.py [RNN_SIZE NUM_LAYERS BATCH]
"""

import collections
import glob
import gzip
import json
import re
import sys
import tempfile

import jax
import numpy as np

from midi_rnn_jax.data import input_pipeline
from midi_rnn_jax.data.input_pipeline import Batch
from midi_rnn_jax.data.model_inputs import StepInputs
from midi_rnn_jax.model import training

LENGTH, CALLS = 128, 3


def main(rnn_size: int, num_layers: int, batch_size: int) -> None:
  tx = training.make_optimizer('adam', 1e-3, 5.0)
  graphdef, state = training.init_state(
      training.build_model(rnn_size, num_layers, 0.2, seed=0), tx)
  steps = training.make_steps(graphdef, tx, training.every_step_logits)
  rng = np.random.default_rng(0)
  shape = (batch_size, LENGTH)
  batch = input_pipeline.stack([Batch(StepInputs(rng.integers(0, 129, shape).astype(np.uint8)),
                                      rng.integers(0, 129, shape).astype(np.uint8),
                                      np.ones(shape, np.float32))] * training.STEPS_PER_CALL)
  key = jax.random.key(0)
  state, metrics = steps.train_steps(state, batch, key)  # Compiles.
  jax.block_until_ready(metrics)
  with tempfile.TemporaryDirectory() as folder:
    with jax.profiler.trace(folder, create_perfetto_trace=True):
      for _ in range(CALLS):
        state, metrics = steps.train_steps(state, batch, key)
      jax.block_until_ready(metrics)
    (path,) = glob.glob(f'{folder}/**/perfetto_trace.json.gz', recursive=True)
    with gzip.open(path) as f:
      events = json.load(f)['traceEvents']
  # XLA's own operations: name.N (fusion.12, dot.3, ...); grouped by kind. The two cores' work
  # can overlap, so shares are of the operations' summed time, beside the traced wall time.
  operations = [e for e in events if e.get('ph') == 'X'
                and re.fullmatch(r'[a-z][a-z_-]*(\.\d+)+', e.get('name', ''))]
  wall = max(e['ts'] + e['dur'] for e in operations) - min(e['ts'] for e in operations)
  kinds = collections.Counter()
  for event in operations:
    kinds[event['name'].split('.')[0]] += event['dur']
  total = sum(kinds.values())
  tokens = CALLS * training.STEPS_PER_CALL * batch_size * LENGTH
  print(f'{rnn_size} units x {num_layers}, batch {batch_size}: {CALLS} calls in '
        f'{wall / 1e6:.2f} s ({tokens / (wall / 1e6):,.0f} tokens/s)')
  print(f'operations: {total / 1e6:.2f} s in all')
  print('| XLA operation kind | time | share |')
  print('|---|---|---|')
  for kind, micros in kinds.most_common(12):
    print(f'| {kind} | {micros / 1e3:,.0f} ms | {micros / total:.1%} |')


if __name__ == '__main__':
  main(*(map(int, sys.argv[1:4]) if len(sys.argv) > 1 else (256, 2, 128)))
