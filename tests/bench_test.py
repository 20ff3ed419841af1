"""bench's time_to_loss part reads train's per-epoch lines as train prints them."""

import os

from conftest import REPO, lakh_files
from midi_rnn_jax import bench_time_to_loss


def test_time_to_loss_times_the_first_epoch_at_the_target(tmp_path, monkeypatch):
  monkeypatch.setenv('PYTHONPATH', str(REPO))
  monkeypatch.chdir(tmp_path)
  data = lakh_files(tmp_path / 'data', 4)
  flags = [f'--flagfile={REPO / "configs" / "smoke.cfg"}', f'--data_dir={data}',
           f'--cache_dir={tmp_path / "cache"}', '--num_epochs=2']
  *epochs, result = bench_time_to_loss.measure(flags, target=1e9)
  assert [row['epoch'] for row in epochs] == [1, 2]
  assert all(0 < row['value'] < 10 for row in epochs)
  seconds = [row['seconds'] for row in epochs]
  assert seconds == sorted(seconds) and seconds[-1] <= result['total_s']
  # Every loss is under 1e9: the run reached it at its first epoch's line.
  assert abs(result['value'] - seconds[0]) < 0.2
  assert not os.path.exists(tmp_path / 'experiments')  # Each run trains in a temporary folder.
