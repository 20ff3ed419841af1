"""Melodies you can look at and listen to: a piano-roll PNG and a WAV from a small
built-in synthesizer (numpy only, no system MIDI synth needed)."""

from __future__ import annotations

import io
import os
import wave

import numpy as np

from midi_rnn_jax.data import encoding, melody_file

SAMPLE_RATE = 22050


def synthesize(tokens: np.ndarray, *, bpm: float = melody_file.DEFAULT_BPM,
               steps_per_quarter: int = encoding.STEPS_PER_QUARTER,
               sample_rate: int = SAMPLE_RATE) -> np.ndarray:
  """Mono float32 samples in [-1, 1], exactly len(tokens) steps long.

  Each note is a sine with two softer harmonics under an attack-decay-release envelope.
  """
  seconds_per_step = 60.0 / bpm / steps_per_quarter
  total = round(len(tokens) * seconds_per_step * sample_rate)
  audio = np.zeros(total, np.float32)
  tokens = np.asarray(tokens, np.int64)
  starts = np.flatnonzero(np.diff(tokens, prepend=-1))
  ends = np.append(starts[1:], len(tokens))
  for first, stop in zip(starts, ends):
    if tokens[first] == encoding.REST:
      continue
    begin = round(first * seconds_per_step * sample_rate)
    end = round(stop * seconds_per_step * sample_rate)
    t = np.arange(end - begin) / sample_rate
    frequency = 440.0 * 2 ** ((tokens[first] - 1 - 69) / 12)
    tone = (np.sin(2 * np.pi * frequency * t) + 0.3 * np.sin(4 * np.pi * frequency * t)
            + 0.1 * np.sin(6 * np.pi * frequency * t)) / 1.4
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-2.0 * t)  # 10 ms attack, then decay.
    release = np.minimum(1.0, (t[-1] - t) / 0.02 + 1e-9)  # 20 ms release: no clicks.
    audio[begin:end] = 0.5 * tone * envelope * release
  return audio


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
  """16-bit PCM mono WAV."""
  buffer = io.BytesIO()
  with wave.open(buffer, 'wb') as out:
    out.setnchannels(1)
    out.setsampwidth(2)
    out.setframerate(sample_rate)
    out.writeframes((np.clip(samples, -1, 1) * 32767).astype('<i2').tobytes())
  return buffer.getvalue()


def piano_roll_figure(tokens: np.ndarray, title: str = '', *,
                      steps_per_quarter: int = encoding.STEPS_PER_QUARTER):
  """A matplotlib figure of the piano roll: pitch against time in 4/4 bars."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  from matplotlib import pyplot  # pylint: disable=import-outside-toplevel
  tokens = np.asarray(tokens, np.int64)
  steps_per_bar = 4 * steps_per_quarter
  figure, axes = pyplot.subplots(figsize=(max(6.0, min(len(tokens) / 24, 24.0)), 3.2), dpi=80)
  starts = np.flatnonzero(np.diff(tokens, prepend=-1))
  ends = np.append(starts[1:], len(tokens))
  for first, stop in zip(starts, ends):
    if tokens[first] != encoding.REST:
      axes.broken_barh([(first / steps_per_bar, (stop - first) / steps_per_bar)],
                       (tokens[first] - 1 - 0.4, 0.8), color='tab:blue')
  pitches, _ = encoding.notes(tokens)
  if len(pitches):
    axes.set_ylim(pitches.min() - 2, pitches.max() + 2)
  axes.set_xlim(0, max(len(tokens), 1) / steps_per_bar)
  axes.set_xlabel('bar')
  axes.set_ylabel('MIDI pitch')
  axes.grid(axis='x', alpha=0.3)
  axes.set_title(title)
  figure.tight_layout()
  return figure


def piano_roll_png(tokens: np.ndarray, title: str = '', *,
                   steps_per_quarter: int = encoding.STEPS_PER_QUARTER) -> bytes:
  from matplotlib import pyplot  # pylint: disable=import-outside-toplevel
  figure = piano_roll_figure(tokens, title, steps_per_quarter=steps_per_quarter)
  buffer = io.BytesIO()
  figure.savefig(buffer, format='png')
  pyplot.close(figure)
  return buffer.getvalue()


def write_beside(midi_path: str, tokens: np.ndarray, *, bpm: float, steps_per_quarter: int) -> None:
  """Writes NAME.png and NAME.wav beside NAME.mid."""
  stem = os.path.splitext(midi_path)[0]
  with open(stem + '.png', 'wb') as f:
    f.write(piano_roll_png(tokens, os.path.basename(stem), steps_per_quarter=steps_per_quarter))
  with open(stem + '.wav', 'wb') as f:
    f.write(wav_bytes(synthesize(tokens, bpm=bpm, steps_per_quarter=steps_per_quarter)))
