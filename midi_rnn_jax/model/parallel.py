"""Data parallel training over every device, on one host or several, and a watchdog for steps
that never end.

One device: no mesh, and no collective is compiled. Several: a mesh over the DATA_AXIS;
``training.make_steps`` splits each batch across it and sums gradients with ``lax.psum``.
Several hosts: ``initialize`` starts JAX's distributed runtime; each process parses its own
share of the files into the cache (``share``), draws the same stream of batches as the others
and feeds its own rows of each (``global_batch``), so every process makes the same steps and
the run trains as one process with the same global batch would; only process 0 writes files.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time

import jax
import numpy as np
from jax.experimental import multihost_utils

from midi_rnn_jax import console
from midi_rnn_jax.data import model_inputs
from midi_rnn_jax.model import training
from midi_rnn_jax.data.input_pipeline import Batch
from midi_rnn_jax.errors import UserError

# A step (16 of them per call, or one evaluation batch) that takes this long is stuck, e.g.
# in a collective whose devices never meet; compiling the first one takes seconds to minutes.
WATCHDOG_SECONDS = 1800


def split_cpu(devices: int) -> None:
  """Makes a CPU ``devices`` devices (a GPU is left as it is), so that data-parallel training
  runs each core's share of every batch where XLA would run a small batch's steps on one
  core. Must run before anything else touches JAX."""
  if devices > 1:
    jax.config.update('jax_num_cpu_devices', devices)


def initialize(coordinator_address: str | None, num_processes: int, process_id: int,
               startup_timeout: int, cpu_devices: int = 1) -> None:
  """Splits a CPU into ``cpu_devices`` devices (``split_cpu``). Starts ``jax.distributed`` when
  the run spans several processes: from the flags, or from a cluster's environment that JAX
  detects (Slurm, Open MPI, ...; JAX_COORDINATOR_ADDRESS).
  Must run before anything else touches JAX. CPU collectives between processes use gloo.
  Says what it waits for, and gives up (a UserError) when the other processes have not
  started within ``startup_timeout`` seconds."""
  split_cpu(cpu_devices)
  cluster = 'JAX_COORDINATOR_ADDRESS' in os.environ or int(os.environ.get('SLURM_NTASKS', 1)) > 1
  if coordinator_address is None and num_processes == 1 and not cluster:
    return
  if coordinator_address is None and not cluster:
    raise UserError(f'--num_processes {num_processes} needs --coordinator_address (host:port of '
                    'process 0), unless a cluster (Slurm, JAX_COORDINATOR_ADDRESS) tells JAX')
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  console.log(f'process {process_id} of {num_processes}: waiting up to {startup_timeout} s for '
              'every process of the run to reach the coordinator '
              f'{coordinator_address or "(from the cluster)"}')
  # JAX aborts the process (a C++ check failure) when its own timeout passes: give up first.
  watchdog = threading.Timer(startup_timeout, _give_up, (coordinator_address, num_processes,
                                                         process_id, startup_timeout))
  watchdog.daemon = True
  watchdog.start()
  try:
    if coordinator_address is None:
      jax.distributed.initialize(initialization_timeout=startup_timeout + 60)
    else:
      jax.distributed.initialize(coordinator_address, num_processes, process_id,
                                 initialization_timeout=startup_timeout + 60)
  except Exception as error:  # A bad address.
    raise UserError(f'jax.distributed could not start (--coordinator_address '
                    f'{coordinator_address}, process {process_id} of {num_processes}): '
                    f'{str(error).strip().splitlines()[0][:200]}') from None
  finally:
    watchdog.cancel()


def _give_up(coordinator_address, num_processes, process_id, startup_timeout) -> None:
  """The one line and exit code 2 of a UserError, from the watchdog thread: the main thread is
  blocked inside JAX."""
  console.log(f'error: the {num_processes} processes of the run did not all start within '
              f'{startup_timeout} s (--startup_timeout; this is process {process_id}, coordinator '
              f'{coordinator_address or "from the cluster"}): start every process, or check the '
              'address')
  os._exit(2)  # pylint: disable=protected-access  # Nothing is written yet.  # Nothing is written before this point.


def is_primary() -> bool:
  """Whether this process writes files and logs: process 0 (the only one on one host)."""
  return jax.process_index() == 0


def share(items: list) -> list:
  """This process's share of ``items`` (all of them in a single-process run)."""
  return items[jax.process_index()::jax.process_count()]


def global_batch(batch: Batch, mesh: jax.sharding.Mesh | None, stacked: bool) -> Batch:
  """Several processes (within one, jit splits numpy arrays itself): every process holds the
  whole batch (all draw the same stream) and contributes its own rows to one global array per
  field (``stacked``: batches along a leading axis)."""
  axis = 1 if stacked else 0
  spec = jax.sharding.PartitionSpec(*((None,) if stacked else ()), training.DATA_AXIS)
  sharding = jax.sharding.NamedSharding(mesh, spec)

  def rows(field):
    size = field.shape[axis] // jax.process_count()
    return np.take(field, range(jax.process_index() * size, (jax.process_index() + 1) * size),
                   axis=axis)

  return model_inputs.map_arrays(
      lambda field: jax.make_array_from_process_local_data(sharding, rows(field)), batch)


def local(tree):
  """``tree`` with each array this process cannot read whole (a value replicated over every
  process's devices) replaced by its local copy."""
  return jax.tree.map(lambda x: x.addressable_data(0) if isinstance(x, jax.Array)
                      and not x.is_fully_addressable else x, tree)


def across_processes(steps: training.Steps, mesh: jax.sharding.Mesh | None) -> training.Steps:
  """Several processes: ``steps`` taking whole numpy batches (each process feeds its rows) and
  returning metrics this process can read; the training state stays global. Else ``steps``."""
  if jax.process_count() == 1:
    return steps

  def train(fn, stacked):
    def call(state, batch, key):
      state, metrics = fn(state, global_batch(batch, mesh, stacked), key)
      return state, local(metrics)
    return call

  return training.Steps(
      train(steps.train_step, stacked=False), train(steps.train_steps, stacked=True),
      lambda params, batch: local(steps.eval_step(params, global_batch(batch, mesh, False))))


def replicate(tree, mesh: jax.sharding.Mesh | None):
  """``tree`` placed whole on every device of ``mesh`` (a restored state comes back on one
  device, which a computation over the mesh refuses)."""
  if mesh is None:
    return tree
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), tree)


def on_mesh(steps: training.Steps, state, mesh: jax.sharding.Mesh | None):
  """``(steps, state)`` ready to run over ``mesh``: each call waited for under a ``Watchdog``
  (one call in flight at a time), the state on every device. Unchanged without a mesh."""
  if mesh is None:
    return steps, state
  return Watchdog().steps(steps), replicate(state, mesh)


def barrier(name: str) -> None:
  """Waits for every process (a no-op in a single-process run)."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)


def data_mesh(num_devices: int, batch_size: int) -> jax.sharding.Mesh | None:
  """A mesh over ``num_devices`` local devices (0: all of them), or over every process's
  devices in a multi-process run; None for one device. The batch is split evenly, so
  ``batch_size`` must divide by the device count."""
  devices = jax.local_devices()
  if num_devices > len(devices):
    raise UserError(f'--num_devices {num_devices}: only {len(devices)} '
                    f'{devices[0].platform} devices are visible')
  if jax.process_count() > 1:
    if num_devices not in (0, len(devices)):
      raise UserError('--num_devices: a run over several processes uses every device of each')
    devices = jax.devices()
  devices = devices[:num_devices or len(devices)]
  if len(devices) == 1:
    return None
  if batch_size % len(devices):
    raise UserError(f'--batch_size {batch_size} does not split evenly over {len(devices)} '
                    f'devices: use a multiple of {len(devices)}, or --num_devices')
  return jax.sharding.Mesh(np.array(devices), (training.DATA_AXIS,))


def describe(mesh: jax.sharding.Mesh | None, batch_size: int) -> str:
  """The console line that says what the run trains on."""
  devices = jax.local_devices()[:1] if mesh is None else list(mesh.devices.ravel())
  kind = devices[0].platform
  if devices[0].device_kind.lower() != kind:
    kind += f' ({devices[0].device_kind})'
  if mesh is None:
    return f'device: 1 {kind}'
  hosts = f' in {jax.process_count()} processes' if jax.process_count() > 1 else ''
  return (f'devices: {len(devices)} {kind}{hosts}, data parallel, {batch_size // len(devices)} '
          f'of each batch of {batch_size} on each')


class Watchdog:
  """Ends the process with one ``error:`` line when a watched call runs over ``seconds``: a
  step stuck in XLA cannot be interrupted from Python, and must not hang a user's run."""

  def __init__(self, seconds: float = WATCHDOG_SECONDS):
    self.seconds = seconds
    self._deadline: float | None = None
    threading.Thread(target=self._watch, daemon=True).start()

  def _watch(self):
    while True:
      time.sleep(min(1.0, self.seconds / 4))
      deadline = self._deadline
      if deadline is not None and time.monotonic() > deadline:
        console.log(f'error: a training step has not finished in {self.seconds:.0f} s (a collective '
                    'across devices that never completes?); the checkpoints written so far are '
                    'kept: resume with the same command, or try --num_devices 1')
        os._exit(2)  # pylint: disable=protected-access

  def watched(self, fn):
    """``fn``, waiting for its result under the deadline (and so keeping at most one call
    with collectives in flight: XLA's CPU all-reduce was seen to deadlock with more)."""

    def call(*args):
      self._deadline = time.monotonic() + self.seconds
      try:
        return jax.block_until_ready(fn(*args))
      finally:
        self._deadline = None

    return call

  def steps(self, steps: training.Steps) -> training.Steps:
    return dataclasses.replace(steps, **{f.name: self.watched(getattr(steps, f.name))
                                         for f in dataclasses.fields(steps)})
