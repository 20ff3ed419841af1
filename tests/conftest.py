"""Shared test helpers: MIDI files built in code, and the path of the in-repo Lakh subset."""

from __future__ import annotations

import atexit
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import miditoolkit
import numpy as np
import pytest

# One XLA compilation cache for the whole run, this process and the runs it starts: many tests
# compile the same step functions again (a resumed run, a second process). Set before jax loads;
# each run of the suite starts with an empty cache, so nothing is carried from one run to the next.
if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
  _CACHE = tempfile.mkdtemp(prefix='midi_rnn_jax_test_xla_')
  atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
  os.environ.update(JAX_COMPILATION_CACHE_DIR=_CACHE, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0',
                    JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES='0')

REPO = pathlib.Path(__file__).resolve().parents[1]
LAKH_DIR = REPO / 'data' / 'lakh-midi-rnn'


def run_module(module, *args, cwd):
  """Runs ``python -m midi_rnn_jax.<module> args`` in ``cwd``; returns the CompletedProcess."""
  env = {**os.environ, 'PYTHONPATH': str(REPO)}
  return subprocess.run([sys.executable, '-m', f'midi_rnn_jax.{module}', *args], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=600)


def ok(result) -> str:
  """The stderr of a run that must have succeeded."""
  assert result.returncode == 0, result.stderr
  return result.stderr


def build_midi(tracks, *, ticks_per_beat: int = 480, bpm: float = 120.0) -> miditoolkit.MidiFile:
  """``tracks``: list of (notes, is_drum); notes are (pitch, start_tick, end_tick)."""
  midi = miditoolkit.MidiFile(ticks_per_beat=ticks_per_beat)
  midi.tempo_changes = [miditoolkit.TempoChange(bpm, 0)]
  for notes, is_drum in tracks:
    instrument = miditoolkit.Instrument(program=0, is_drum=is_drum)
    instrument.notes = [miditoolkit.Note(velocity=90, pitch=p, start=s, end=e) for p, s, e in notes]
    midi.instruments.append(instrument)
  return midi


def lakh_files(folder, count: int) -> pathlib.Path:
  """``folder`` (made if missing) with the first ``count`` Lakh files copied in; returns it."""
  folder = pathlib.Path(folder)
  folder.mkdir(parents=True, exist_ok=True)
  for name in sorted(os.listdir(LAKH_DIR))[:count]:
    shutil.copy(LAKH_DIR / name, folder / name)
  return folder


def write_midi(path, tracks, **kwargs) -> pathlib.Path:
  """Writes ``build_midi(tracks)`` to ``path`` and returns the path."""
  build_midi(tracks, **kwargs).dump(str(path))
  return pathlib.Path(path)


def scale_melody(length: int, ticks_per_step: int, first_pitch: int = 60):
  """A legato melody of ``length`` one-step notes walking up and down a scale."""
  pitches = [first_pitch + [0, 2, 4, 5, 7, 5, 4, 2][i % 8] for i in range(length)]
  return [(p, i * ticks_per_step, (i + 1) * ticks_per_step) for i, p in enumerate(pitches)]


@pytest.fixture(scope='session')
def lakh_dir() -> pathlib.Path:
  """The 183 Lakh MIDI files committed in data/lakh-midi-rnn (never skipped: they ship)."""
  assert len(list(LAKH_DIR.glob('*.mid'))) == 183, f'{LAKH_DIR} should hold the 183 Lakh files'
  return LAKH_DIR


# Parts of a pop song's file, for the tests of --tracks melody (all of BARS 4/4 bars).
BARS = 16


def melody(seed: int = 0):
  """A stepwise tune in the treble, 8th notes with a rest ending each two-bar phrase."""
  rng = np.random.default_rng(seed)
  notes, pitch = [], 72
  for eighth in range(BARS * 8):
    if eighth % 16 == 15:
      continue
    pitch = int(np.clip(pitch + rng.choice([-2, -1, 1, 2]), 65, 84))
    notes.append((pitch, eighth * 240, (eighth + 1) * 240))
  return notes


def bass_line():
  """Quarter-note roots and fifths, an octave and more below middle C."""
  return [(36 + [0, 7, 5, 7][beat % 4], beat * 480, (beat + 1) * 480) for beat in range(BARS * 4)]


def accompaniment():
  """A pop piano part: on each beat a chord in the middle register, between beats its root an
  octave lower (the top line leaps from one to the other)."""
  notes = []
  for beat in range(BARS * 4):
    root, start = [60, 57, 53, 55][beat // 4 % 4], beat * 480
    notes += [(root + interval, start, start + 240) for interval in (0, 4, 7)]
    notes.append((root - 12, start + 240, start + 480))
  return notes
