r"""Benchmark: training and sampling throughput, compile times, data ingestion, peak memory
and model FLOPs utilization, printed as one JSON line per figure.

  python -m midi_rnn_jax.bench                        # everything (about 3 min on 2 cores)
  python -m midi_rnn_jax.bench --parts train,sample --configs B --modes window,sequence
  python -m midi_rnn_jax.bench --parts peak,train --modes sequence --cpu_devices 2
  python -m midi_rnn_jax.bench --parts ingest_scale   # 20,000 synthetic files (--ingest_dir)
  python -m midi_rnn_jax.bench --parts time_to_loss --train_flags="--flagfile=configs/melody.cfg"

Config A is the original's default (rnn_size 64, 1 layer, window 20, batch 32), config B a
bigger model (256 units, 2 layers, batch 128); both train with adam 1e-3, global-norm clip 5
and dropout 0.2 on random windows, the same work as bench/peer_bench.py does in
PyTorch. Each part runs in its own process, so its peak resident memory is its own.
"""

from __future__ import annotations

from midi_rnn_jax import stop_early

if __name__ == '__main__':  # First: Ctrl-C stops even the imports.
  stop_early.install()

# pylint: disable=wrong-import-position

import concurrent.futures
import json
import multiprocessing
import os
import statistics
import sys
import time

from absl import flags

from midi_rnn_jax import bench_ingest, bench_time_to_loss, cli
from midi_rnn_jax.bench_ingest import peak_rss_mb
from midi_rnn_jax.errors import UserError

CONFIGS = {'A': {'rnn_size': 64, 'num_layers': 1, 'batch_size': 32},
           'B': {'rnn_size': 256, 'num_layers': 2, 'batch_size': 128}}
WINDOW = 20
SEQUENCE_LENGTH = 128  # The sequence mode's training chunks, as peer_bench.py's torch_seq.
SAMPLE_FILES, SAMPLE_STEPS = 10, 1000
LAKH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'data',
                        'lakh-midi-rnn')

flags.DEFINE_list('parts', ['peak', 'train', 'sample', 'ingest'], 'What to measure.')
flags.DEFINE_list('configs', list(CONFIGS), 'Model configs: A and/or B.')
flags.DEFINE_list('modes', ['window'], 'Model modes to measure for train and sample: window '
                  'and/or sequence.')
flags.DEFINE_integer('cpu_devices', 1, 'train: split the CPU into this many devices and train '
                     'data parallel over them, as train --cpu_devices does.', lower_bound=1)
flags.DEFINE_integer('repeats', 5, 'Timed repeats; the median is reported.', lower_bound=1)
flags.DEFINE_string('data_dir', LAKH_DIR, 'MIDI folder for the ingestion figures.')
flags.DEFINE_integer('ingest_files', 20000, 'ingest_scale: synthetic MIDI files to generate.',
                     lower_bound=1)
flags.DEFINE_string('ingest_dir', None, 'ingest_scale: a real MIDI folder instead of synthetic '
                    'files.')
flags.DEFINE_string('train_flags', '--flagfile=configs/melody.cfg', 'time_to_loss: the flags '
                    'of the training run to time (space-separated).')
flags.DEFINE_float('target_loss', 0.60, 'time_to_loss: the validation loss (as train prints it '
                   'each epoch, on --sequence_length rows: it depends on them) to time the run '
                   'to. melody.cfg reaches 0.60 in its last epochs.')

FLAGS = flags.FLAGS


def matmul_peak_flops(repeats: int = 5) -> float:
  """This machine's fp32 matrix-multiply FLOP/s: the best of XLA and numpy (OpenBLAS) over
  square sizes 1024-4096."""
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel

  matmul = jax.jit(lambda x, y: x @ y)
  best = 0.0
  for size in (1024, 2048, 4096):
    host = np.random.default_rng(0).random((size, size), np.float32)
    device = jax.device_put(host)
    for run in (lambda: host @ host, lambda: jax.block_until_ready(matmul(device, device))):
      run()
      for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = max(best, 2 * size ** 3 / (time.perf_counter() - start))
  return best


def training_flops(rnn_size: int, num_layers: int, steps: int, heads: int) -> float:
  """Matmul FLOPs of one example's forward and backward pass (backward = 2x forward): an
  LSTM over ``steps`` steps and the output layer on ``heads`` of them. The first layer's
  one-hot input is a row gather, so it costs no FLOPs (nor does it in the maths: a one-hot
  matmul would be 2*129*4H per step of wasted multiply-by-zero)."""
  gates = 4 * rnn_size
  recurrent = 2 * rnn_size * gates * steps * num_layers
  inputs = 2 * rnn_size * gates * steps * (num_layers - 1)
  head = 2 * rnn_size * 129 * heads
  return 3 * (recurrent + inputs + head)


def measure_train(name: str, mode_name: str, cpu_devices: int, repeats: int) -> list[dict]:
  """Window mode: windows/s; sequence mode: predicted tokens/s (chunks of SEQUENCE_LENGTH);
  over ``cpu_devices`` devices of this CPU (data parallel when more than one)."""
  from midi_rnn_jax.data import input_pipeline  # pylint: disable=import-outside-toplevel
  from midi_rnn_jax.data.input_pipeline import Batch  # pylint: disable=import-outside-toplevel
  from midi_rnn_jax.data.model_inputs import StepInputs  # pylint: disable=import-outside-toplevel
  from midi_rnn_jax.model import modes, parallel, training  # pylint: disable=import-outside-toplevel
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  parallel.split_cpu(cpu_devices)  # A fresh process: JAX has not started.
  config = CONFIGS[name]
  mode = modes.MODES[mode_name]
  batch_size = config['batch_size']
  model = training.build_model(config['rnn_size'], config['num_layers'], 0.2, seed=0)
  tx = training.make_optimizer('adam', 1e-3, 5.0)
  graphdef, state = training.init_state(model, tx)
  mesh = parallel.data_mesh(0, batch_size)
  steps = training.make_steps(graphdef, tx, mode.logits_fn, mesh)
  steps, state = parallel.on_mesh(steps, state, mesh)  # As train runs them.
  rng = np.random.default_rng(0)
  # Targets per example, and the steps the LSTM reads for them.
  targets, length = (SEQUENCE_LENGTH, SEQUENCE_LENGTH) if mode.unit == 'tokens' else (1, WINDOW)
  target_shape = (batch_size, targets) if mode.unit == 'tokens' else (batch_size,)
  batches = [Batch(StepInputs(rng.integers(0, 129, (batch_size, length)).astype(np.uint8)),
                   rng.integers(0, 129, target_shape).astype(np.uint8),
                   np.ones(target_shape, np.float32)) for _ in range(32)]
  stacked = [input_pipeline.stack(batches[i:i + training.STEPS_PER_CALL])
             for i in range(0, len(batches), training.STEPS_PER_CALL)]
  key = jax.random.key(0)
  start = time.perf_counter()
  state, metrics = steps.train_steps(state, stacked[0], key)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - start
  # About the work peer_bench.py times: its window model's step count, an eighth of it for
  # sequence chunks (as its torch_seq does), at least one jitted call.
  num_steps = max(50, 12800 // batch_size // max(1, config['rnn_size'] // 64)
                  // config['num_layers'])
  if mode.unit == 'tokens':
    num_steps = max(training.STEPS_PER_CALL, num_steps // 8)
  num_calls = -(-num_steps // training.STEPS_PER_CALL)
  num_steps = num_calls * training.STEPS_PER_CALL

  def examples_per_second(run):
    times = []
    for _ in range(repeats + 1):  # The first pass warms up.
      start = time.perf_counter()
      jax.block_until_ready(run())
      times.append(time.perf_counter() - start)
    return num_steps * batch_size * targets / statistics.median(times[1:])

  def scanned():  # What train.py does: STEPS_PER_CALL steps per jitted call.
    nonlocal state
    for i in range(num_calls):
      state, metrics = steps.train_steps(state, stacked[i % len(stacked)], key)
    return metrics

  def one_per_call():  # One jitted call per step: the plain way, for comparison.
    nonlocal state
    for i in range(num_steps):
      state, metrics = steps.train_step(state, batches[i % len(batches)], key)
    return metrics

  per_s = examples_per_second(scanned)
  one_step_per_s = examples_per_second(one_per_call)
  flops_per_s = per_s / targets * training_flops(
      config['rnn_size'], config['num_layers'], length, targets)
  peak = matmul_peak_flops()
  common = {'config': name, 'mode': mode_name, **config, 'cpu_devices': cpu_devices,
            **({'sequence_length': length} if mode.unit == 'tokens' else {'window_size': length})}
  return [
      {'figure': f'train_{mode.unit}_per_s', 'value': round(per_s, 1), **common},
      {'figure': f'train_{mode.unit}_per_s_one_step_per_call',
       'value': round(one_step_per_s, 1), **common},
      {'figure': 'train_compile_s', 'value': round(compile_s, 3), **common},
      {'figure': 'train_model_flops_per_s', 'value': round(flops_per_s / 1e9, 2),
       'unit': 'GFLOP/s', **common},
      {'figure': 'matmul_peak_flops_per_s', 'value': round(peak / 1e9, 1), 'unit': 'GFLOP/s'},
      {'figure': 'train_mfu', 'value': round(flops_per_s / peak, 4), **common},
      {'figure': 'train_peak_rss_mb', 'value': round(peak_rss_mb(), 1), **common},
  ]


def measure_sample(name: str, mode_name: str, repeats: int) -> list[dict]:
  from midi_rnn_jax.generate import samplers  # pylint: disable=import-outside-toplevel
  from midi_rnn_jax.model import training  # pylint: disable=import-outside-toplevel
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  from flax import nnx  # pylint: disable=import-outside-toplevel
  config = CONFIGS[name]
  model = training.build_model(config['rnn_size'], config['num_layers'], 0.2, seed=0)
  graphdef, params = nnx.split(model, nnx.Param)
  sample = samplers.SAMPLERS[mode_name](graphdef, SAMPLE_STEPS, temperature=1.0)
  primes = np.random.default_rng(0).integers(0, 129, (SAMPLE_FILES, WINDOW)).astype(np.uint8)
  key = jax.random.key(1)
  start = time.perf_counter()
  jax.block_until_ready(sample(params, primes, key))
  compile_s = time.perf_counter() - start
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(sample(params, primes, key))
    times.append(time.perf_counter() - start)
  common = {'config': name, 'mode': mode_name, 'rnn_size': config['rnn_size'],
            'num_layers': config['num_layers'], 'files': SAMPLE_FILES, 'steps': SAMPLE_STEPS}
  return [
      {'figure': 'sample_steps_per_s',
       'value': round(SAMPLE_FILES * SAMPLE_STEPS / statistics.median(times), 1), **common},
      {'figure': 'sample_first_call_s', 'value': round(compile_s, 3), **common},
      {'figure': 'sample_peak_rss_mb', 'value': round(peak_rss_mb(), 1), **common},
  ]


def run_part(part: str, argument, repeats: int) -> list[dict]:
  if part == 'train':
    return measure_train(*argument, repeats)
  if part == 'sample':
    return measure_sample(*argument, repeats)
  if part == 'ingest':
    return bench_ingest.measure_ingest(argument, WINDOW)
  if part == 'ingest_scale':
    return bench_ingest.measure_ingest_scale(*argument, WINDOW, CONFIGS['A'])
  if part == 'time_to_loss':
    return bench_time_to_loss.measure(*argument)
  return [{'figure': 'matmul_peak_flops_per_s', 'value': round(matmul_peak_flops() / 1e9, 1),
           'unit': 'GFLOP/s'}]


def main(argv):
  del argv  # cli.run rejects stray arguments.
  jobs = []
  for part in FLAGS.parts:
    if part == 'train':
      jobs += [(part, (name, mode, FLAGS.cpu_devices)) for mode in FLAGS.modes
               for name in FLAGS.configs]
    elif part == 'sample':
      jobs += [(part, (name, mode)) for mode in FLAGS.modes for name in FLAGS.configs]
    elif part == 'ingest':
      jobs.append((part, FLAGS.data_dir))
    elif part == 'ingest_scale':
      jobs.append((part, (FLAGS.ingest_dir, FLAGS.ingest_files)))
    elif part == 'time_to_loss':
      jobs.append((part, (FLAGS.train_flags.split(), FLAGS.target_loss)))
    elif part == 'peak':
      jobs.append((part, None))
    else:
      raise UserError(f'--parts: unknown {part!r}; choose from peak, train, sample, ingest, '
                      'ingest_scale, time_to_loss')
  context = multiprocessing.get_context('spawn')
  for part, argument in jobs:
    # One fresh process per part: thread pools, caches and peak memory stay its own.
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
      for row in pool.submit(run_part, part, argument, FLAGS.repeats).result():
        print(json.dumps({'part': part, **row}), flush=True)
  print(json.dumps({'part': 'machine', 'figure': 'cpus', 'value': os.cpu_count(),
                    'python': sys.version.split()[0]}), flush=True)


if __name__ == '__main__':
  cli.run(main)
