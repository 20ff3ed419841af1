"""An experiment folder on disk: numbering, config.json and what a resumed run may change,
the split, skipped.tsv.

Layout of ``experiments/NN/``: ``config.json`` (every flag and the encoding
version, enough to rebuild the model), ``split.json`` (the training and
validation files), ``skipped.tsv`` (the files and tracks not used, and why),
``message.txt``, ``checkpoints/`` (best by validation loss
and latest), ``tensorboard-logs/``, ``generated/``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import shutil
from collections.abc import Callable

from midi_rnn_jax import files
from midi_rnn_jax.data import cached_tracks, dataset, encoding, model_inputs, parse_cache
from midi_rnn_jax.model import checkpoints, lstm, training
from midi_rnn_jax.errors import UserError

EXPERIMENTS_ROOT = 'experiments'
CONFIG_FILE = 'config.json'
SPLIT_FILE = 'split.json'
SKIPPED_FILE = 'skipped.tsv'
TRACKS_FILE = 'tracks.tsv'
LOCK_FILE = '.lock'


@contextlib.contextmanager
def locked(experiment_dir: str):
  """Holds ``experiment_dir`` (made if missing) for one training at a time: a second one is
  refused at once. The lock (flock on LOCK_FILE) goes with the process, however it ends; a
  folder made here that holds nothing else afterwards is removed."""
  created = not os.path.isdir(experiment_dir)
  os.makedirs(experiment_dir, exist_ok=True)
  with open(os.path.join(experiment_dir, LOCK_FILE), 'a') as handle:
    try:
      fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      raise UserError(f'--experiment_dir {experiment_dir!r} is in use by another training: '
                      'wait for it to end, or pass another folder') from None
    try:
      yield
    finally:
      if created and os.listdir(experiment_dir) == [LOCK_FILE]:
        shutil.rmtree(experiment_dir, ignore_errors=True)


def finite_or_null(value):
  """``value`` (nested dicts and lists) with every NaN or infinity as None: JSON has no such
  numbers, and a reader would choke on Python's ``NaN`` and ``Infinity``."""
  if isinstance(value, dict):
    return {key: finite_or_null(item) for key, item in value.items()}
  if isinstance(value, (list, tuple)):
    return [finite_or_null(item) for item in value]
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def write_json_atomically(path: str, value) -> None:
  """``value`` as JSON, NaN and infinities as null."""
  text = json.dumps(finite_or_null(value), indent=2, sort_keys=True, allow_nan=False) + '\n'
  files.write_atomically(path, lambda f: f.write(text.encode()))


def write_track_table(path: str, rows) -> None:
  """A tab-separated table of (path, track, what happened), with a header."""
  lines = ['path\ttrack\treason'] + ['\t'.join(' '.join(str(field).split()) for field in row)
                                     for row in rows]
  files.write_atomically(path, lambda f: f.write(('\n'.join(lines) + '\n').encode('utf-8')))


def read_json(path: str):
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as error:
    raise UserError(f'cannot read {path}: {error}') from None


def next_experiment_dir(root: str = EXPERIMENTS_ROOT) -> str:
  """``root/NN``, one above the highest numbered folder, zero-padded to 2 digits."""
  numbers = [int(n) for n in os.listdir(root) if re.fullmatch(r'\d+', n)] if os.path.isdir(root) else []
  return os.path.join(root, f'{max(numbers, default=0) + 1:02d}')


def claim_experiment_dir(root: str = EXPERIMENTS_ROOT) -> str:
  """Creates and returns the next ``root/NN``; ``os.mkdir`` claims the number atomically, so
  two trainings started at once get different folders."""
  os.makedirs(root, exist_ok=True)
  while True:
    path = next_experiment_dir(root)
    try:
      os.mkdir(path)
      return path
    except FileExistsError:  # Another run took this number first: take the next.
      continue


def latest_experiment_dir(root: str = EXPERIMENTS_ROOT) -> str:
  """The experiment under ``root`` whose newest checkpoint is the newest (the one that just
  finished training, even if another was created after it); one without a checkpoint (stopped
  in its first epoch) is never taken."""
  candidates = [os.path.join(root, n) for n in os.listdir(root)] if os.path.isdir(root) else []
  candidates = [d for d in candidates if os.path.isfile(os.path.join(d, CONFIG_FILE))
                and checkpoints.has_checkpoint(d)]
  if not candidates:
    raise UserError(f'no experiment with a checkpoint in {root!r}: train one first or pass '
                    '--experiment_dir')
  return max(candidates, key=checkpoints.newest_checkpoint_time)


# Flags that shape the model, its data or its optimizer state: a resumed run keeps them.
FIXED_ON_RESUME = ('data_dir', 'rnn_size', 'num_layers', 'window_size', 'steps_per_quarter',
                   'polyphony', 'tracks', 'mode', 'optimizer', 'seed', *lstm.OPTIONS)


def is_experiment(experiment_dir: str | None) -> bool:
  return experiment_dir is not None and os.path.exists(os.path.join(experiment_dir, CONFIG_FILE))


def resumed_config(experiment_dir: str, given: dict) -> tuple[dict, dict]:
  """The config of a run that continues ``experiment_dir``: its saved flags, overridden by
  ``given`` (the flags set on this command line), and the flags that changed (name: [old,
  new]). A change of a FIXED_ON_RESUME flag is refused, naming the flags."""
  saved = load_config(experiment_dir)
  changes = {name: [saved.get(name), value] for name, value in given.items()
             if _comparable(name, saved.get(name)) != _comparable(name, value)}
  fixed = [f'--{name} ({old} there, {new} now)' for name, (old, new) in changes.items()
           if name in FIXED_ON_RESUME]
  if fixed:
    raise UserError(f'{experiment_dir} was trained with other values of {", ".join(fixed)}: '
                    'resuming would change its model or data; drop those flags to resume, or '
                    'leave out --experiment_dir for a new experiment')
  return {**saved, **{name: new for name, (_, new) in changes.items()}}, changes


def _comparable(name: str, value):
  return os.path.abspath(value) if name == 'data_dir' and value is not None else value


def record_changes(experiment_dir: str, config: dict, changes: dict, from_epoch: int) -> None:
  """Rewrites config.json with the new values and, under ``changes``, what changed from
  which epoch on."""
  history = config.get('changes', []) + [{'from_epoch': from_epoch, 'flags': changes}]
  write_json_atomically(os.path.join(experiment_dir, CONFIG_FILE),
                        {**config, 'changes': history})


def create(experiment_dir: str | None, config: dict, message: str | None) -> str:
  """Makes the experiment folder (``experiments/NN`` when None) and writes config.json
  (and message.txt)."""
  if experiment_dir is None:
    experiment_dir = claim_experiment_dir()
  os.makedirs(experiment_dir, exist_ok=True)
  write_json_atomically(os.path.join(experiment_dir, CONFIG_FILE),
                        {**config, 'experiment_dir': experiment_dir, 'message': message,
                         'encoding_version': encoding.ENCODING_VERSION,
                         'num_classes': model_inputs.num_classes(config.get('tune_ends'))})
  if message:
    with open(os.path.join(experiment_dir, 'message.txt'), 'w') as f:
      f.write(message + '\n')
  return experiment_dir


def write_files(experiment_dir: str | None, config: dict, message: str | None,
                track_rows, train_records, val_records) -> str:
  """config.json and message.txt (for a new experiment, in experiments/NN when
  ``experiment_dir`` is None), split.json, tracks.tsv (what became of every file and track)
  and skipped.tsv (those not used); returns the folder."""
  if not is_experiment(experiment_dir):
    experiment_dir = create(experiment_dir, config, message)
  write_json_atomically(os.path.join(experiment_dir, SPLIT_FILE), {
      'train': [os.path.abspath(r.path) for r in train_records],
      'validation': [os.path.abspath(r.path) for r in val_records]})
  write_track_table(os.path.join(experiment_dir, TRACKS_FILE), track_rows)
  skipped = [row for row in track_rows if dataset.is_skipped(row)]
  if skipped:
    write_track_table(os.path.join(experiment_dir, SKIPPED_FILE), skipped)
  return experiment_dir


def load_config(experiment_dir: str) -> dict:
  path = os.path.join(experiment_dir, CONFIG_FILE)
  config = read_json(path)
  if isinstance(config, dict) and config.get('encoding_version') != encoding.ENCODING_VERSION:
    raise UserError(f'{experiment_dir} was trained with encoding version '
                    f'{config.get("encoding_version")}; this midi_rnn_jax uses '
                    f'{encoding.ENCODING_VERSION}')
  return training.check_config(config, path)


def _split_files(experiment_dir: str, part: str) -> list[str]:
  """The files of one part of the experiment's split that still exist."""
  split = read_json(os.path.join(experiment_dir, SPLIT_FILE))
  return [p for p in split[part] or split['train'] if os.path.isfile(p)]


def training_files(experiment_dir: str) -> list[str]:
  return _split_files(experiment_dir, 'train')


def validation_files(experiment_dir: str) -> list[str]:
  """The validation files that still exist (the training files if there were none)."""
  return _split_files(experiment_dir, 'validation')


def validation_tunes(experiment_dir: str, config: dict, cache_dir: str,
                     warn: Callable[[str], None]) -> tuple[list, list]:
  """(tracks, meters) of the experiment's validation files that still exist, read as its
  ``config`` read its data."""
  records = parse_cache.read_records(validation_files(experiment_dir), cache_dir, 1, warn,
                                     encoding.ReadingRules.of_config(config))
  return cached_tracks.all_tracks_and_meters(records, config['window_size'])


def worse_than_a_guess(experiment_dir: str) -> str | None:
  """A warning when the experiment's best validation loss is above a uniform guess's (a
  model that diverged or never learned), else None."""
  progress = checkpoints.latest_progress(experiment_dir)
  best = progress.plateau.best if progress else None
  if best is not None and not best <= training.UNIFORM_NLL:
    return (f'warning: {experiment_dir} scored {best:.4g} nats at best, worse than a uniform '
            f'guess ({training.UNIFORM_NLL:.2f}): it diverged or never learned')
  return None


def load_model(experiment_dir: str, which: str = 'best'):
  """(config, graphdef, params) of an experiment's best or latest checkpoint."""
  config = load_config(experiment_dir)
  graphdef, abstract_params = training.model_from_config(config)
  return config, graphdef, checkpoints.restore_params(experiment_dir, abstract_params, which)


