"""EXPERIMENT: fine-tune a tune_ends sequence model with REINFORCE on its own whole tunes
(reward: ends home), mixed with the usual MLE loss on training rows.

  python scripts/home_rl.py SRC_EXP DST_EXP STEPS [LAMBDA] [LR] [BATCH]
"""
import os
import shutil
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from midi_rnn_jax import experiment
from midi_rnn_jax.data import (cached_tracks, encoding, input_pipeline, model_inputs,
                               parse_cache)
from midi_rnn_jax.data.input_pipeline import Batch
from midi_rnn_jax.evaluation import stats, tunes
from midi_rnn_jax.generate import priming, samplers
from midi_rnn_jax.model import checkpoints, modes, training

src, dst, num_steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
weight = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
lr = float(sys.argv[5]) if len(sys.argv) > 5 else 1e-4
batch = int(sys.argv[6]) if len(sys.argv) > 6 else 64
LENGTH = 768
RATE_HOME, RATE_OTHER = 0.01236, 0.00278  # the validation tunes' end rate at home / other steps
VARIANT = os.environ.get('VARIANT', 'pg')  # pg: REINFORCE on ends home; end: no end off home

config, graphdef, params = experiment.load_model(src)
names, window = model_inputs.of_config(config), config['window_size']
rules = encoding.ReadingRules.of_config(config)
log = lambda m: None
train_records = parse_cache.read_records(experiment.training_files(src), config['cache_dir'], 2,
                                         log, rules)
val_records = parse_cache.read_records(experiment.validation_files(src), config['cache_dir'], 2,
                                       log, rules)
tracks, meters = cached_tracks.all_tracks_and_meters(train_records, window)
mode = modes.of(config)
rng = np.random.default_rng(0)
cache = {}


def mle_batches():
  while True:
    yield from mode.batches(train_records, config, rng, cache)


data = mle_batches()
sample = samplers.make_sequence_sampler(graphdef, LENGTH, 1.0)


def away_steps(tokens, positions, primers):
  """(rows, LENGTH) 1 at each input step after which ending would not end home."""
  out = np.zeros((len(tokens), LENGTH), np.float32)
  for i, (row, pos, pr) in enumerate(zip(tokens, positions, primers)):
    n = priming.tune_length(row)
    n = LENGTH - 1 if n is None else n
    if n == 0:
      continue
    meter = encoding.Meter(pos[1:n + 1], np.full(n, pr.bar_length, np.uint8),
                           np.full(n, pr.beat_unit, np.uint8))
    # input step j (j >= 1) has read token j-1 of the tune: ending after it is home or not.
    home = tunes.home_after_each_step(row[:n], meter)
    out[i, 1:n + 1] = 1.0 + home if VARIANT == 'rate' else ~home
  return out


def rl_batch(tokens, positions, rewards):
  """Rows of the sampled tunes as training rows, weighted by their advantage."""
  rows = []
  for row, pos in zip(tokens, positions):
    n = priming.tune_length(row)
    seq = np.concatenate([[model_inputs.TUNE_END], row[:LENGTH if n is None else n + 1]])
    rows.append((seq.astype(np.uint8), pos[:len(seq)]))
  width = LENGTH
  adv = rewards - rewards.mean()
  inputs, targets, weights = [], [], []
  for (seq, pos), a in zip(rows, adv):
    steps = model_inputs.track_inputs(seq, pos, names)
    n_in = len(seq) - 1
    inputs.append(model_inputs.map_arrays(
        lambda v: np.pad(v[:n_in], [(0, width - n_in)] + [(0, 0)] * (v.ndim - 1)), steps))
    targets.append(np.pad(seq[1:], (0, width - n_in)))
    weights.append(np.pad(np.full(n_in, a, np.float32), (0, width - n_in)))
  return Batch(model_inputs.map_arrays(lambda *v: np.stack(v), *inputs), np.stack(targets),
               np.stack(weights), np.zeros((len(rows), width), np.uint8))


def reward_of(row, pos, bar_length, beat_unit):
  n = priming.tune_length(row)
  if n is None or n == 0:
    return 0.0, False, False
  tune = row[:n]
  meter = encoding.Meter(pos[1:n + 1], np.full(n, bar_length, np.uint8),
                         np.full(n, beat_unit, np.uint8))
  home = tunes.ends_home(tune, meter)
  degenerate = stats.degeneration(tune) is not None
  return float(home) - float(degenerate), home, degenerate


tx = training.make_optimizer('adam', lr, config['grad_clip'])
opt_state = tx.init(params)


def loss_fn(params, mle: Batch, rl: Batch, key):
  model = nnx.merge(graphdef, params)
  logits, _ = training.every_step_logits(model, mle, key)
  m = training.batch_metrics(logits, mle)
  mle_loss = m.loss / m.count
  logits, _ = training.every_step_logits(model, rl, None)
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, rl.targets.astype(jnp.int32))
  if VARIANT == 'pg':
    pg = jnp.sum(ce * rl.weights) / rl.targets.shape[0] / 200.0
  elif VARIANT == 'rate':  # rl.weights: 2 where ending would be home, 1 elsewhere, 0 padding
    end = jax.nn.log_softmax(logits, -1)[..., -1]
    stay = jax.nn.logsumexp(logits[..., :-1], -1) - jax.nn.logsumexp(logits, -1)
    q = jnp.where(rl.weights == 2.0, RATE_HOME, jnp.where(rl.weights == 1.0, RATE_OTHER, 0.0))
    bce = -(q * end + (1 - q) * stay) * (rl.weights > 0)
    pg = jnp.sum(bce) / jnp.maximum(jnp.sum(rl.weights > 0), 1.0) / RATE_HOME
  else:  # rl.weights: 1 where ending would not be home
    stay = jax.nn.logsumexp(logits[..., :-1], -1) - jax.nn.logsumexp(logits, -1)
    pg = -jnp.sum(stay * rl.weights) / jnp.maximum(jnp.sum(rl.weights), 1.0)
  return mle_loss + weight * pg, mle_loss


@jax.jit
def update(params, opt_state, mle, rl, key):
  (loss, mle_loss), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, mle, rl, key)
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, mle_loss


steps = training.make_steps(graphdef, tx, mode.logits_fn)
from midi_rnn_jax import train_loop  # noqa
print('val before', train_loop.evaluate(steps, params, val_records, config), flush=True)
key = jax.random.key(1)
history = []
start = time.time()
for step in range(num_steps):
  primers = [priming.as_tune_opening(p, 0)
             for p in priming.openings(tracks, meters, batch, window, rng)]
  primes, positions = priming.stack_primes(primers, LENGTH)
  key, k1, k2 = jax.random.split(key, 3)
  tokens = np.asarray(sample(params, primes, k1, positions).tokens)
  results = [reward_of(r, p, pr.bar_length, pr.beat_unit)
             for r, p, pr in zip(tokens, positions, primers)]
  rewards = np.array([r for r, _, _ in results], np.float32)
  rl = rl_batch(tokens, positions, rewards)
  if VARIANT != 'pg':
    rl = rl._replace(weights=away_steps(tokens, positions, primers))
  params, opt_state, mle_loss = update(params, opt_state, next(data), rl, k2)
  ended = np.mean([priming.tune_length(r) is not None for r in tokens])
  lengths = [priming.tune_length(r) or LENGTH for r in tokens]
  history.append((np.mean([h for _, h, _ in results]), np.mean([d for _, _, d in results]),
                  ended, np.median(lengths), float(mle_loss)))
  if step % 10 == 9:
    h = np.mean(history[-10:], axis=0)
    print(f'{step + 1} home {h[0]:.3f} degenerate {h[1]:.3f} ended {h[2]:.3f} median {h[3]:.0f} '
          f'mle {h[4]:.4f} {time.time() - start:.0f}s', flush=True)
print('val after', train_loop.evaluate(steps, params, val_records, config), flush=True)

if os.path.exists(dst):
  shutil.rmtree(dst)
os.makedirs(dst)
for name in ('config.json', 'split.json'):
  shutil.copy(os.path.join(src, name), dst)
progress = checkpoints.latest_progress(src)
state = training.TrainState(jnp.asarray(progress.step + num_steps), params,
                            training.make_optimizer(config['optimizer'], lr,
                                                    config['grad_clip']).init(params))
manager = checkpoints.manager(dst)
val = train_loop.evaluate(steps, params, val_records, config)['loss']
checkpoints.save(manager, state, checkpoints.Progress(
    progress.epochs_done, 0, progress.step + num_steps, progress.plateau, progress.rng_state),
    val)
manager.close()
print('saved', dst)
