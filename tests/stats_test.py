"""Report statistics against hand-computed values; degeneration and novelty detectors."""

import math

import numpy as np
import pytest

from midi_rnn_jax.data import encoding
from midi_rnn_jax.evaluation import baselines, stats

# Notes: C4 for 2 steps, rest, E4 for 3, C4, G4, two rests.
MELODY = np.array([61, 61, 0, 65, 65, 65, 61, 68, 0, 0], np.uint8)


def test_features_of_a_hand_built_melody():
  f = stats.melody_features(MELODY)
  assert (f['steps'], f['notes'], f['pitch_range'], f['pitches_used']) == (10, 4, 7, 3)
  assert f['rest_ratio'] == pytest.approx(0.3)
  assert f['mean_abs_interval'] == pytest.approx((4 + 4 + 7) / 3)
  assert f['repeated_note_rate'] == 0.0
  expected_histogram = np.zeros(12)
  expected_histogram[[0, 4, 7]] = [3 / 7, 3 / 7, 1 / 7]
  np.testing.assert_allclose(f['pitch_class_histogram'], expected_histogram, atol=1e-6)
  assert f['pitch_class_entropy_bits'] == pytest.approx(
      -(2 * 3 / 7 * math.log2(3 / 7) + 1 / 7 * math.log2(1 / 7)), abs=1e-5)
  assert (f['scale_consistency'], f['best_scale']) == (pytest.approx(1.0), 'C major')
  assert f['note_length_histogram'] == [0.5, 0.25, 0.25, 0, 0, 0, 0, 0]
  assert f['longest_repeat'] == 2  # "E E" twice, overlapping.
  assert f['repeating_period'] == 0


def test_repeated_notes_and_scale_share():
  tune = np.array([61, 0, 61, 62, 63, 64], np.uint8)  # C, rest, C, C#, D, D#.
  f = stats.melody_features(tune)
  assert f['repeated_note_rate'] == pytest.approx(1 / 4)  # C->C of C->C, C->C#, C#->D, D->D#.
  # No major or minor scale holds three semitones in a row: the best holds 4 of the 5 steps.
  assert f['scale_consistency'] == pytest.approx(0.8)


def test_degeneration_fires_on_loops_and_held_notes_only():
  rng = np.random.default_rng(0)
  start = rng.integers(1, 129, 40).astype(np.uint8)
  loop = np.concatenate([start, np.tile(np.array([61, 63, 65, 0, 63], np.uint8), 10)])
  held = np.concatenate([start, np.full(40, 70, np.uint8)])
  silent = np.concatenate([start, np.zeros(40, np.uint8)])
  assert stats.repeating_period(loop) == 5
  assert stats.repeating_period(held) == 1 and stats.repeating_period(silent) == 1
  assert stats.repeating_period(rng.integers(1, 129, 80).astype(np.uint8)) == 0
  long_loop = np.concatenate([start, np.tile(rng.integers(1, 129, 20).astype(np.uint8), 3)])
  assert stats.repeating_period(long_loop) == 0  # A 20-step pattern is a phrase, not a loop.
  assert stats.longest_repeat(loop) == 45  # The pattern repeats until the end.


def test_novelty_measures_the_longest_copied_run():
  training = [np.arange(1, 40, dtype=np.uint8), np.array([90, 91, 92], np.uint8)]
  ngrams = stats.TrainingNgrams(training)
  copied = np.array([120, 5, 6, 7, 8, 9, 120, 90, 91], np.uint8)
  assert stats.longest_shared_run(copied, ngrams) == 5
  assert stats.longest_shared_run(np.array([120, 121, 122], np.uint8), ngrams) == 0


def test_ngram_hashes_tell_runs_apart_as_the_runs_themselves_do():
  rng = np.random.default_rng(0)
  tracks = [rng.integers(0, 5, rng.integers(1, 60)).astype(np.uint8) for _ in range(50)]
  for n in (1, 2, 3, 7, 20):
    rows = [tuple(row) for row in baselines.ngrams(tracks, n)]  # Never across two tracks.
    hashes = stats.ngram_hashes(tracks, n)
    assert len(hashes) == len(rows)
    runs_of = {}
    for row, key in zip(rows, hashes):
      runs_of.setdefault(key, set()).add(row)
    assert all(len(runs) == 1 for runs in runs_of.values())
    assert len(runs_of) == len(set(rows))


def test_overlap_area():
  rng = np.random.default_rng(0)
  a = rng.normal(0, 1, 400)
  assert stats.overlap_area(a, a) == pytest.approx(1.0, abs=1e-3)
  assert stats.overlap_area(a, rng.normal(0, 1, 400)) > 0.85
  assert stats.overlap_area(a, a + 20) < 0.01


def test_degeneration_names_held_notes_silence_and_loops():
  assert stats.degeneration(np.full(100, 61, np.uint8)) == 'one held note'
  assert stats.degeneration(np.zeros(100, np.uint8)) == 'all rests'
  mostly_rests = np.zeros(100, np.uint8)
  mostly_rests[[3, 40, 41, 77]] = [61, 62, 64, 65]
  assert stats.degeneration(mostly_rests) == 'almost all rests (96%)'
  loop = np.tile(np.array([61, 63, 65], np.uint8), 40)
  assert stats.degeneration(loop) == 'its second half loops a 3-step pattern'
  melody = np.random.default_rng(0).integers(50, 80, 100).astype(np.uint8)
  assert stats.degeneration(melody) is None


def test_key_drift_and_bar_repetition_on_hand_built_melodies():
  c_major = np.array([61, 63, 65, 66, 68, 70, 72, 73] * 2, np.uint8)  # C D E F G A B C, 16 steps.
  f_sharp_major = c_major + 6
  steady = np.tile(c_major, 8)  # 8 bars of 16 steps, one key.
  wandering = np.concatenate([np.tile(c_major, 4), np.tile(f_sharp_major, 4)])
  assert stats.span_scale_consistency(steady, 64) == (1.0, 0.0)
  assert stats.span_scale_consistency(wandering, 64) == (1.0, 1.0)  # Each span fits; the key moved.
  assert stats.scale_consistency(wandering)[0] < 0.75  # The whole file fits no scale well.
  assert stats.bar_repetition(steady, 16) == 1.0  # Bars 2-8 each repeat bar 1.
  varied = np.concatenate([c_major, c_major[::-1], c_major, np.full(16, 61, np.uint8)])
  # Bar 3 repeats bar 1; bar 2 is new; the held bar does not count.
  assert stats.bar_repetition(varied, 16) == 0.5


def test_excerpts_start_on_bar_lines_and_have_the_asked_length():
  tracks = [np.arange(1, 41, dtype=np.uint8), np.arange(50, 55, dtype=np.uint8)]
  meters = [encoding.Meter(((np.arange(40) + 2) % 6).astype(np.uint8), np.full(40, 6, np.uint8),
                           np.full(40, 8, np.uint8)),
            encoding.Meter.on_downbeat(5, 4)]
  cut = stats.excerpts(tracks, meters, 10, 100, np.random.default_rng(0))
  # Bar lines of the long track fall at steps 4, 10, 16, 22 and 28 (the last start that fits 10).
  assert sorted(int(e[0]) for e, _ in cut) == [5, 11, 17, 23, 29]
  assert all(len(e) == 10 and np.array_equal(e, np.arange(e[0], e[0] + 10)) and bar == 6
             for e, bar in cut)
