"""Piano-roll PNGs and synthesized WAVs open as valid files of the right length."""

import io
import wave

import matplotlib.image
import numpy as np

from midi_rnn_jax.generate import render

MELODY = np.array([61, 61, 0, 65, 65, 65, 68, 0, 0, 73], np.uint8)


def test_wav_lasts_exactly_as_long_as_the_melody(tmp_path):
  samples = render.synthesize(MELODY, bpm=90.0, steps_per_quarter=4)
  data = render.wav_bytes(samples)
  with wave.open(io.BytesIO(data)) as wav:
    assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
    seconds = wav.getnframes() / wav.getframerate()
  assert abs(seconds - len(MELODY) * 60 / 90 / 4) < 1 / render.SAMPLE_RATE
  # Sound where notes are, silence where the rests are.
  step = len(samples) // len(MELODY)
  assert np.abs(samples[:2 * step]).max() > 0.1
  assert np.abs(samples[2 * step:3 * step]).max() == 0
  assert np.abs(samples).max() <= 1.0


def test_a_note_sounds_at_its_pitch():
  samples = render.synthesize(np.full(16, 70, np.uint8), bpm=120.0)  # A4: 440 Hz.
  spectrum = np.abs(np.fft.rfft(samples))
  peak = np.fft.rfftfreq(len(samples), 1 / render.SAMPLE_RATE)[np.argmax(spectrum)]
  assert abs(peak - 440.0) < 2.0


def test_piano_roll_png_opens_as_an_image(tmp_path):
  path = tmp_path / 'melody.mid'
  render.write_beside(str(path), MELODY, bpm=120.0, steps_per_quarter=4)
  image = matplotlib.image.imread(str(tmp_path / 'melody.png'))
  assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 300
  with wave.open(str(tmp_path / 'melody.wav')) as wav:
    assert wav.getnframes() > 0
