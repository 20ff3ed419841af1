"""Data parallel training over fake CPU devices, each check in its own process with a time
limit (XLA's device count is fixed when JAX starts, and a stuck collective must fail the test,
not hang it)."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np

from conftest import REPO, lakh_files, ok, run_module
from midi_rnn_jax import experiment

STEPS_ON_ONE_AND_TWO_DEVICES = '''
import json
import jax, numpy as np
from midi_rnn_jax.data.input_pipeline import Batch
from midi_rnn_jax.data.model_inputs import StepInputs
from midi_rnn_jax.errors import UserError
from midi_rnn_jax.model import parallel, training

def train(mesh, logits_fn):
  tx = training.make_optimizer('adam', 0.01, 5.0)
  graphdef, state = training.init_state(training.build_model(16, 2, 0.0, 0), tx)
  steps = training.make_steps(graphdef, tx, logits_fn, mesh)
  rng = np.random.default_rng(0)
  every_step = logits_fn is training.every_step_logits
  for _ in range(3):  # 3 calls of 4 stacked batches of 8: 12 steps.
    inputs = rng.integers(0, 129, (4, 8, 12)).astype(np.uint8)
    targets = rng.integers(0, 129, (4, 8, 12) if every_step else (4, 8)).astype(np.uint8)
    weights = np.ones(targets.shape, np.float32)
    weights[-1, -3:] = 0  # Padding, all on the second device's share.
    state, metrics = steps.train_steps(state, Batch(StepInputs(inputs), targets, weights), jax.random.key(0))
  evaluated = steps.eval_step(state.params, Batch(StepInputs(inputs[0]), targets[0], weights[0]))
  return state, metrics, evaluated

def hlo(mesh):
  tx = training.make_optimizer('adam', 0.01, 5.0)
  graphdef, state = training.init_state(training.build_model(8, 1, 0.0, 0), tx)
  steps = training.make_steps(graphdef, tx, training.window_logits, mesh)
  batch = Batch(StepInputs(np.zeros((2, 4, 6), np.uint8)), np.zeros((2, 4), np.uint8), np.ones((2, 4), np.float32))
  return steps.train_steps.lower(state, batch, jax.random.key(0)).compile().as_text()

mesh = parallel.data_mesh(2, batch_size=8)
out = {'devices': len(mesh.devices.ravel()), 'line': parallel.describe(mesh, 8)}
for name, fn in (('window', training.window_logits), ('sequence', training.every_step_logits)):
  (one, one_metrics, one_eval), (two, two_metrics, two_eval) = train(None, fn), train(mesh, fn)
  out[name] = {
      'param_diff': max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
                        for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(two.params))),
      'metrics': [[float(x) for x in one_metrics], [float(x) for x in two_metrics]],
      'eval': [[float(x) for x in one_eval], [float(x) for x in two_eval]]}
out['all_reduce'] = {'one': 'all-reduce' in hlo(None), 'two': 'all-reduce' in hlo(mesh)}
errors = []
for devices, batch_size in ((2, 7), (3, 8)):
  try:
    parallel.data_mesh(devices, batch_size)
  except UserError as error:
    errors.append(str(error))
out['errors'] = errors
print(json.dumps(out))
'''


def run_python(code, *, devices=2, timeout=300):
  return subprocess.run(
      [sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True,
      timeout=timeout, cwd=REPO,
      env={'PATH': '/usr/bin:/bin', 'PYTHONPATH': str(REPO), 'JAX_PLATFORMS': 'cpu',
           'XLA_FLAGS': f'--xla_force_host_platform_device_count={devices}'})


def test_two_devices_train_to_the_parameters_of_one():
  result = run_python(STEPS_ON_ONE_AND_TWO_DEVICES)
  assert result.returncode == 0, result.stderr
  out = json.loads(result.stdout)
  assert out['devices'] == 2
  assert out['line'] == 'devices: 2 cpu, data parallel, 4 of each batch of 8 on each'
  for mode in ('window', 'sequence'):
    assert out[mode]['param_diff'] < 1e-5, out[mode]
    for one, two in (out[mode]['metrics'], out[mode]['eval']):
      assert two[2] == one[2]  # The same weight counted: padding is not double counted.
      assert abs(two[0] - one[0]) <= 1e-5 * abs(one[0])
  # One device compiles no collective; two sum their gradients with one.
  assert out['all_reduce'] == {'one': False, 'two': True}
  batch_error, devices_error = out['errors']
  assert batch_error.startswith('--batch_size 7 does not split evenly over 2 devices')
  assert devices_error == '--num_devices 3: only 2 cpu devices are visible'


def test_the_watchdog_ends_a_stuck_step_with_one_line():
  result = run_python('''
      import time
      from midi_rnn_jax.model import parallel
      parallel.Watchdog(seconds=1.0).watched(lambda: time.sleep(30))()
      ''', devices=1, timeout=60)
  assert result.returncode == 2
  (line,) = result.stderr.strip().splitlines()
  assert line.startswith('error: a training step has not finished in 1 s')


def free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def train_in_two_processes(tmp_path, *args):
  """Runs ``train args`` as processes 0 and 1 on 127.0.0.1; returns their stderr."""
  address = f'127.0.0.1:{free_port()}'
  env = {**os.environ, 'PYTHONPATH': str(REPO), 'JAX_PLATFORMS': 'cpu'}
  processes = [subprocess.Popen(
      [sys.executable, '-m', 'midi_rnn_jax.train', *args, f'--coordinator_address={address}',
       '--num_processes=2', f'--process_id={i}'],
      cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
      for i in range(2)]
  try:
    stderrs = [p.communicate(timeout=300)[1] for p in processes]
  finally:  # Never leave a process behind, whatever happened.
    for p in processes:
      if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
  assert [p.returncode for p in processes] == [0, 0], stderrs
  return stderrs


def test_two_processes_train_and_resume_in_step_with_one(tmp_path, lakh_dir):
  data = lakh_files(tmp_path / 'data', 4)
  common = (f'--flagfile={REPO / "configs" / "smoke.cfg"}', f'--data_dir={data}',
            f'--cache_dir={tmp_path / "cache"}', '--learning_rate=0.003', '--n_jobs=1')
  ok(run_module('train', *common, '--num_epochs=2', '--experiment_dir=one', cwd=tmp_path))
  first, second = train_in_two_processes(tmp_path, *common, '--num_epochs=1',
                                         '--experiment_dir=two')
  assert 'devices: 2 cpu in 2 processes, data parallel, 128 of each batch of 256' in first
  assert 'epoch 1/1' in first and 'epoch' not in second  # Process 0 speaks for the run.
  resumed, _ = train_in_two_processes(tmp_path, *common, '--num_epochs=2',
                                      '--experiment_dir=two')
  assert 'resuming from epoch 2 of 2' in resumed
  one, two = (experiment.load_model(str(tmp_path / name), 'latest')[2] for name in ('one', 'two'))
  for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(two)):  # Restored in one process.
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-5)
