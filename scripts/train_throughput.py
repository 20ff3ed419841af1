"""Sequence-mode training throughput on the folk corpus's training tunes, per batch size, row
length and model inputs: 16 jitted calls of 16 optimizer steps each, after one call to
compile; tokens are predicted steps (padding not counted).

  python scripts/train_throughput.py 32x128xplc 8x128xplc 16x64x
  python scripts/train_throughput.py --cpu_devices=2 2x512xplc   # data parallel over 2 devices
  # BATCHxLENGTHxINPUTS; INPUTS: p bar position, l lookbacks, c copy path, t tune ends,
  # n bar numbers, h held steps, x extra lookbacks, f tune phase, r repeat match
  # (melody.cfg: 8x256xplctnhfr)
"""

import sys
import time

import jax
import numpy as np

from midi_rnn_jax.data import dataset, encoding, input_pipeline, parse_cache, token_store
from midi_rnn_jax.model import modes, parallel, training

CALLS = 16

if __name__ == '__main__':
  specs = sys.argv[1:]
  if specs and specs[0].startswith('--cpu_devices='):
    parallel.split_cpu(int(specs.pop(0).split('=')[1]))
  rules = encoding.ReadingRules(polyphony='top', tracks='melody')
  corpus = dataset.load_corpus('data/midi', 20, parse_cache.DEFAULT_CACHE_DIR, 2, print, rules)
  records, _ = token_store.stored(corpus.records, parse_cache.DEFAULT_CACHE_DIR, print)
  train, _ = dataset.split_files(records, 'data/midi', 0)
  for spec in specs:
    batch, length, inputs = spec.split('x')
    config = dict(rnn_size=128, num_layers=1, dropout=0.1, window_size=20, mode='sequence',
                  batch_size=int(batch), sequence_length=int(length), max_files_in_ram=10000,
                  bar_position='p' in inputs, lookback='l' in inputs,
                  copy_lookback='c' in inputs, tune_ends='t' in inputs,
                  bar_number='n' in inputs, held_steps='h' in inputs,
                  extra_lookback='x' in inputs, tune_phase='f' in inputs,
                  repeat_match='r' in inputs)
    tx = training.make_optimizer('adam', 0.002, 5.0)
    graphdef, state = training.init_state(training.model_of_config(config, 0), tx)
    mesh = parallel.data_mesh(0, int(batch))
    steps = training.make_steps(graphdef, tx, training.every_step_logits, mesh)
    steps, state = parallel.on_mesh(steps, state, mesh)  # As train runs them.
    batches = list(modes.of(config).batches(train, config, np.random.default_rng(0)))
    per_call = training.STEPS_PER_CALL
    groups = [input_pipeline.stack(batches[i:i + per_call])
              for i in range(0, per_call * (CALLS + 1), per_call)]
    key = jax.random.key(0)
    state, metrics = steps.train_steps(state, groups[0], key)
    jax.block_until_ready(metrics)
    start, tokens = time.perf_counter(), 0.0
    for group in groups[1:]:
      state, metrics = steps.train_steps(state, group, key)
      tokens += float(group.weights.sum())
    jax.block_until_ready(metrics)
    rate = tokens / (time.perf_counter() - start)
    epoch = sum(float(b.weights.sum()) for b in batches)
    print(f'{spec}: {rate:,.0f} tokens/s; an epoch of {epoch:,.0f} tokens: {epoch / rate:.1f} s',
          flush=True)
