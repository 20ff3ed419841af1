"""Bad input, as a careless or unlucky user gives it: each case ends in one clear line and a
stated exit code (2: the tool's own `error:` line; 1: absl's refusal of a flag value), a clean
stop, or a correct result, and nothing already written is lost."""

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import REPO, lakh_files, ok, run_module as run, scale_melody, write_midi
from midi_rnn_jax import experiment
from midi_rnn_jax.data import dataset, encoding, parse_cache
from midi_rnn_jax.errors import UserError

SMOKE = f'--flagfile={REPO / "configs" / "smoke.cfg"}'


@pytest.fixture(scope='module')
def place(tmp_path_factory, lakh_dir):
  """A folder with data/ (6 Lakh files), a trained smoke experiment exp/, a FIFO and a socket."""
  root = tmp_path_factory.mktemp('hostile')
  lakh_files(root / 'data', 6)
  ok(run('train', SMOKE, '--data_dir=data', '--experiment_dir=exp', f'--cache_dir={root / "cache"}',
         cwd=root))
  os.mkfifo(root / 'fifo')
  listener = socket.socket(socket.AF_UNIX)
  listener.bind(str(root / 'socket'))
  yield root
  listener.close()


def free_port() -> int:
  with socket.socket() as probe:
    probe.bind(('localhost', 0))
    return probe.getsockname()[1]


CASES = [  # (command, its flags, exit code, a fragment of its error line)
    ('train', ['--mode=sequence', '--sequence_length=100000000', '--data_dir=data'], 2,
     'error: --sequence_length 100000000 is over 16,384 steps'),
    ('train', ['--tracks=program:200', '--data_dir=data'], 1, '--tracks must be all, melody'),
    ('train', ['--polyphony=chords', '--data_dir=data'], 1, 'value should be one of <skip|top>'),
    ('train', ['--num_processes=2', '--data_dir=data'], 2,
     'error: --num_processes 2 needs --coordinator_address'),
    ('train', ['--num_processes=2', '--coordinator_address=localhost:{port}',
               '--startup_timeout=2', '--data_dir=data', '--experiment_dir=multi'], 2,
     'error: the 2 processes of the run did not all start within 2 s'),
    ('train', [SMOKE, '--learning_rate=1e6', '--data_dir=data', '--experiment_dir=wild'], 2,
     'error: training diverged'),
    ('sample', ['--experiment_dir=exp', '--key=H'], 2, "error: --key 'H' is not a key"),
    ('sample', ['--experiment_dir=exp', '--primer_notes='], 2, 'error: --primer_notes is empty'),
    ('sample', ['--experiment_dir=exp', '--home_ending=1.4'], 2,
     'error: --home_ending needs a model trained with --tune_ends and --bar_position'),
    ('sample', ['--experiment_dir=exp', '--min_length=32'], 2,
     'error: --min_length needs a model trained with --tune_ends'),
    ('sample', ['--experiment_dir=exp', '--redraws=1'], 2,
     'error: --redraws needs a model trained with --tune_ends'),
    ('sample', ['--experiment_dir=exp', '--file_length=1000000'], 2,
     'error: --file_length 1000000 is over 100,000 steps'),
    ('sample', ['--experiment_dir=exp', '--prime_file=missing.mid'], 2,
     "error: --prime_file 'missing.mid' is not a file"),
    ('sample', ['--experiment_dir=exp', '--prime_file=fifo'], 2,
     "error: --prime_file 'fifo' is not a file"),
    ('export', ['--experiment_dir=exp', '--out=fifo'], 2,
     "error: --out 'fifo' exists and is not a regular file"),
    ('export', ['--experiment_dir=exp', '--out=socket'], 2,
     "error: --out 'socket' exists and is not a regular file"),
    ('export', ['--experiment_dir=exp', '--out=/proc/x.msgpack'], 2,
     "error: --out '/proc/x.msgpack' cannot be written"),
]


@pytest.mark.parametrize('command,args,code,line', CASES, ids=[' '.join([c[0]] + c[1])[:60]
                                                               for c in CASES])
def test_bad_input_ends_in_one_clear_line(place, command, args, code, line):
  args = [a.format(port=free_port()) for a in args]
  result = run(command, *args, f'--cache_dir={place / "cache"}', cwd=place)
  assert result.returncode == code, result.stderr
  last = result.stderr.strip().splitlines()[-1]
  if code == 2:  # The tool's own one line, last.
    assert line in last and last.startswith('error: '), result.stderr
  else:  # absl's two lines.
    assert 'FATAL Flags parsing error' in result.stderr and line in result.stderr
  assert 'Traceback' not in result.stderr
  assert os.path.exists(place / 'fifo') and not os.path.isfile(place / 'fifo')


def test_a_diverged_run_keeps_no_checkpoint_and_a_refused_one_leaves_no_folder(place):
  assert not (place / 'wild' / 'checkpoints').exists() or not os.listdir(place / 'wild' / 'checkpoints')
  assert not (place / 'multi').exists()


def test_a_second_training_into_a_folder_in_use_is_refused(place):
  (place / 'busy').mkdir(exist_ok=True)
  with open(place / 'busy' / experiment.LOCK_FILE, 'a') as held:
    fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # As a running training holds it.
    result = run('train', SMOKE, '--data_dir=data', '--experiment_dir=busy',
                 f'--cache_dir={place / "cache"}', cwd=place)
  assert result.returncode == 2
  assert "error: --experiment_dir 'busy' is in use by another training" in result.stderr
  assert os.listdir(place / 'busy') == [experiment.LOCK_FILE]  # Nothing written into it.


def test_links_in_the_data_folder_are_read_once(place, tmp_path):
  data = tmp_path / 'linked'
  shutil.copytree(place / 'data', data / 'real')
  os.symlink(data, data / 'real' / 'loop')  # A loop: the folder inside itself.
  os.symlink(data / 'real', data / 'alias')
  stderr = ok(run('train', SMOKE, f'--data_dir={data}', '--experiment_dir=linked_exp',
                  f'--cache_dir={place / "cache"}', cwd=tmp_path))
  assert 'data: 6 files found' in stderr
  assert f"warning: 2 links in --data_dir '{data}' lead to folders or files read already" in stderr


def test_a_huge_file_is_skipped_by_its_size_not_by_the_time_its_parse_takes(tmp_path):
  huge = tmp_path / 'huge.mid'
  with open(huge, 'wb') as f:
    f.truncate(parse_cache.MAX_FILE_BYTES + 1)
  with pytest.raises(UserError, match='over the 8 MiB a MIDI file is read up to'):
    parse_cache.encode_file(str(huge))


def test_a_fifo_or_broken_link_named_mid_in_the_data_is_skipped_not_read(tmp_path):
  """A FIFO would block its reader for ever (training hung); a broken link cannot be read."""
  write_midi(tmp_path / 'tune.mid', [(scale_melody(40, 120), False)])
  os.mkfifo(tmp_path / 'pipe.mid')
  os.symlink(tmp_path / 'nowhere', tmp_path / 'broken.midi')
  warnings = []
  assert dataset.find_midi_files(str(tmp_path), warnings.append) == [str(tmp_path / 'tune.mid')]
  assert warnings == [f"warning: 2 entries named .mid/.midi in --data_dir '{tmp_path}' are not "
                      'regular files (FIFOs, sockets, devices or broken links): skipped']


def test_a_file_gone_before_it_is_read_is_skipped_not_a_crash(tmp_path):
  """A file listed, then removed before a worker reads it: the error training records for
  a skipped file, not an OSError out of a worker."""
  with pytest.raises(UserError, match='unreadable MIDI file .*gone.mid: FileNotFoundError'):
    parse_cache.encode_file(str(tmp_path / 'gone.mid'))
  assert 'FileNotFoundError' in parse_cache.parse_to_cache(
      str(tmp_path / 'gone.mid'), str(tmp_path / 'cache.npz'), encoding.ReadingRules())


def test_json_outputs_write_null_for_what_is_not_finite(tmp_path):
  experiment.write_json_atomically(str(tmp_path / 'x.json'),
                                   {'nll': float('inf'), 'ok': 1.5, 'list': [float('nan'), 2]})
  assert (tmp_path / 'x.json').read_text() == (
      '{\n  "list": [\n    null,\n    2\n  ],\n  "nll": null,\n  "ok": 1.5\n}\n')


def test_ctrl_c_during_the_imports_stops_with_one_line(tmp_path):
  """Also when the shell started the command with SIGINT ignored (in the background). SIGINT
  is sent every 50 ms from the start of the imports; Python's ``-X importtime`` lists each module as its
  import ends, so the run must stop before its modules (flax, optax, orbax: seconds) are in."""
  write_midi(tmp_path / 'tune.mid', [(scale_melody(40, 120), False)])
  command = f'{sys.executable} -X importtime -m midi_rnn_jax.train --data_dir=. --experiment_dir=exp'
  process = subprocess.Popen(  # The shell ignores SIGINT, and python inherits that.
      ['sh', '-c', f'trap "" INT; exec {command}'], cwd=tmp_path,
      env={**os.environ, 'PYTHONPATH': str(REPO)}, stderr=subprocess.PIPE, text=True)
  time.sleep(0.2)  # For sh to set its trap and hand over to python (which takes seconds).
  deadline = time.monotonic() + 60
  while process.poll() is None and time.monotonic() < deadline:
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
  _, stderr = process.communicate(timeout=60)
  assert process.returncode == 130, stderr[-2000:]
  lines = stderr.splitlines()
  assert 'interrupted by SIGINT' in lines and 'Traceback' not in stderr
  assert not [line for line in lines
              if line.startswith('import time:') and line.endswith('| midi_rnn_jax.model.training')]
  assert not (tmp_path / 'exp').exists()
