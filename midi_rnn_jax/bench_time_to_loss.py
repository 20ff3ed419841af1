"""bench part time_to_loss: the wall time from a training command's start until its validation
loss (as it prints it after each epoch) first reaches a target: parsing from a warm cache,
compiling and the per-epoch evaluation all count, as they do for a user."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time

from midi_rnn_jax.errors import UserError

EPOCH_LINE = re.compile(r'epoch (\d+)/\d+: train loss ([\d.]+) .*\| val loss ([\d.]+)')


def measure(train_flags: list[str], target: float) -> list[dict]:
  """One row per epoch (validation loss, seconds since the start), then the time to
  ``target`` (None when the run never reached it)."""
  rows, reached = [], None
  with tempfile.TemporaryDirectory() as folder:
    command = [sys.executable, '-m', 'midi_rnn_jax.train', *train_flags,
               f'--experiment_dir={folder}/experiment']
    start = time.perf_counter()
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
      for line in process.stderr:
        if (epoch := EPOCH_LINE.search(line)):
          seconds, loss = time.perf_counter() - start, float(epoch.group(3))
          rows.append({'figure': 'validation_loss', 'epoch': int(epoch.group(1)), 'value': loss,
                       'seconds': round(seconds, 1)})
          if reached is None and loss <= target:
            reached = seconds
    if process.returncode:
      raise UserError(f'time_to_loss: training failed ({" ".join(command)})')
  rows.append({'figure': 'time_to_loss_s', 'value': reached and round(reached, 1),
               'target': target, 'train_flags': ' '.join(train_flags),
               'total_s': round(time.perf_counter() - start, 1)})
  return rows
