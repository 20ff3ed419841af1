"""Whole tunes: tune boundaries in the data, tune statistics, and a model that learns to end
tunes and to repeat their parts."""

import json
import os
import subprocess
import sys

import miditoolkit
import numpy as np
import pytest
from flax import nnx

from conftest import REPO, ok, run_module, write_midi
from midi_rnn_jax import report
from midi_rnn_jax.data import encoding, melody_file, model_inputs, slicing
from midi_rnn_jax.data.model_inputs import TUNE_END
from midi_rnn_jax.evaluation import scoring, stats, tunes
from midi_rnn_jax.generate import priming
from midi_rnn_jax.model import training

TICKS_PER_STEP = 120  # A 16th note at 480 ticks per beat.


def test_a_tune_is_read_between_two_marks_with_their_bar_positions():
  tokens = np.array([61, 61, 63, 0, 65], np.uint8)
  meter = encoding.Meter(np.array([2, 3, 0, 1, 2], np.uint8), np.full(5, 4, np.uint8),
                         np.full(5, 4, np.uint8))
  steps = model_inputs.model_track(tokens, meter, ('bar_position',), tune_ends=True)
  assert steps.tokens.tolist() == [TUNE_END, 61, 61, 63, 0, 65, TUNE_END]
  assert steps.bar_position.tolist() == [1, 2, 3, 0, 1, 2, 3]
  # Packed into rows, the first mark is read and the last is the last step's target.
  inputs, targets, weights, starts, _ = slicing.packed_rows(steps, [len(steps.tokens)], 8,
                                                         np.array([0]))
  assert inputs.tokens[0, :6].tolist() == [TUNE_END, 61, 61, 63, 0, 65]
  assert targets[0, :6].tolist() == [61, 61, 63, 0, 65, TUNE_END]
  assert weights[0].tolist() == [1] * 6 + [0] * 2 and starts[0, 0] == 1
  # Without tune ends the track is read as it is.
  plain = model_inputs.model_track(tokens, meter, (), tune_ends=False)
  assert plain.tokens.tolist() == tokens.tolist() and plain.bar_position is None


def test_a_tune_opening_starts_with_the_mark_one_step_before_its_first_note():
  tracks = [np.array([61, 63, 65, 66], np.uint8)]
  meters = [encoding.Meter(np.array([3, 0, 1, 2], np.uint8), np.full(4, 4, np.uint8),
                           np.full(4, 8, np.uint8))]
  (opening,) = priming.openings(tracks, meters, 1, 3, np.random.default_rng(0))
  read = priming.as_tune_opening(opening)
  assert read.tokens.tolist() == [TUNE_END, 61, 63, 65]
  assert read.positions.tolist() == [2, 3, 0, 1] and read.beat_unit == 8
  bare = priming.as_tune_opening(opening, 0)  # Only where the tune starts: on a pickup.
  assert bare.tokens.tolist() == [TUNE_END] and bare.positions.tolist() == [2]
  assert priming.tune_length(np.array([5, 6, TUNE_END, 7])) == 2
  assert priming.tune_length(np.array([5, 6, 7])) is None


def test_a_tune_models_scores_are_over_the_notes_and_its_ends_apart():
  model = training.build_model(rnn_size=8, num_layers=1, dropout=0.0, seed=3, tune_ends=True)
  graphdef, params = nnx.split(model, nnx.Param)
  rng = np.random.default_rng(1)
  tracks = [rng.integers(0, 129, n).astype(np.uint8) for n in (9, 14)]
  meters = [encoding.Meter.on_downbeat(len(t), 16) for t in tracks]
  steps = [model_inputs.model_track(t, m, (), True) for t, m in zip(tracks, meters)]
  window = 4
  scores = scoring.whole_track_scores(graphdef, params, steps, window, tune_ends=True)
  assert len(scores.probabilities) == sum(len(t) - window for t in tracks)
  logits = np.asarray(model.every_step(model_inputs.map_arrays(
      lambda values: values[None, :-1], steps[1]))[0])
  notes = np.exp(logits[:, :129]) / np.exp(logits[:, :129]).sum(-1, keepdims=True)
  ends = np.exp(logits[:, -1]) / np.exp(logits).sum(-1)
  # Track 2's targets after `window` steps: inputs window..len, renormalised over the notes.
  expected = notes[np.arange(window, len(tracks[1])), tracks[1][window:]]
  np.testing.assert_allclose(scores.probabilities[len(tracks[0]) - window:], expected, rtol=1e-5)
  np.testing.assert_allclose(scores.end_at_end[1], ends[len(tracks[1])], rtol=1e-5)
  summary = scoring.tune_end_summary(scores)
  assert summary['tunes'] == 2 and summary['end_nll_nats'] > 0


def test_tune_statistics_of_a_hand_built_tune():
  a = [61, 61, 65, 65, 68, 68, 73, 0]  # C, E, G, C in two-step notes: a bar of 8 steps.
  b = [63, 63, 66, 66, 70, 70, 66, 0]
  ending = [73] * 8  # A long final C on the downbeat.
  tokens = np.array(a + b + a + b + ending, np.uint8)
  positions = np.arange(len(tokens)) % 8
  meter = encoding.Meter(positions.astype(np.uint8), np.full(len(tokens), 8, np.uint8),
                         np.full(len(tokens), 4, np.uint8))
  bars = tunes.bars_of(tokens, positions)
  assert len(bars) == 5
  assert stats.repeated_bars(bars) == pytest.approx(2 / 3)  # a, b repeat; the held C is not counted.
  assert tunes.part_repetition(bars, 2) == pytest.approx(1 / 2)  # (a b) again, not (b c).
  assert tunes.part_repetition(bars, 4) is None  # Shorter than two 4-bar parts.
  assert tunes.tonic(tokens) == 0 and tunes.ends_home(tokens, meter)
  assert not tunes.ends_home(tokens[:-8], meter)  # It stops on a rest after B's F.
  # A pickup before the first bar line is not a bar.
  assert len(tunes.bars_of(tokens[6:], positions[6:])) == 4
  features = tunes.tune_features(tokens, meter)
  assert features['steps'] == 40 and features['degenerate'] is None


def write_tune_corpus(folder, count, seed=0):
  """Tunes of one form, AABB, with random two-bar 4/4 parts of eighths and quarters: each tune
  is 8 bars (128 steps) and ends after its second B."""
  rng = np.random.default_rng(seed)
  folder.mkdir()

  def part():
    notes, step = [], 0
    while step < 32:
      length = min(int(rng.choice([2, 4])), 32 - step)
      notes.append((int(rng.choice([60, 62, 64, 65, 67, 69, 71, 72])), step, step + length))
      step += length
    return notes

  for index in range(count):
    a, b = part(), part()
    notes = [(pitch, (start + offset) * TICKS_PER_STEP, (end + offset) * TICKS_PER_STEP)
             for offset, section in zip((0, 32, 64, 96), (a, a, b, b))
             for pitch, start, end in section]
    write_midi(folder / f'{index:03d}.mid', [(notes, False)])
  return folder


def test_a_model_learns_to_end_tunes_and_to_copy_their_parts(tmp_path):
  data = write_tune_corpus(tmp_path / 'tunes', 60)
  ok(run_module('train', f'--data_dir={data}', '--mode=sequence', '--tune_ends',
                '--bar_position', '--lookback', '--copy_lookback', '--copy_bars', '--rnn_size=64',
                '--num_epochs=22', '--batch_size=8', '--sequence_length=64',
                '--learning_rate=0.01', '--window_size=8', '--experiment_dir=exp',
                f'--cache_dir={tmp_path / "cache"}', cwd=tmp_path))
  stderr = ok(run_module('sample', '--experiment_dir=exp', '--num_files=20', '--file_length=400',
                         '--seed=0', '--save_dir=out', f'--cache_dir={tmp_path / "cache"}',
                         cwd=tmp_path))
  assert 'wrote 20 tunes' in stderr
  ended, lengths, same = [], [], []
  for index in range(1, 21):
    midi = miditoolkit.MidiFile(str(tmp_path / 'out' / f'{index:02d}.mid'))
    (track,), _ = encoding.encode_midi(midi)
    # A tune the model ended early is padded with rests: its missing parts do not repeat.
    tokens = np.pad(track.tokens, (track.first_step, max(0, 128 - track.first_step
                                                          - len(track.tokens))))
    ended.append(melody_file.ended_by_model(midi))
    lengths.append(melody_file.end_marker_steps(midi))
    same += [np.mean(tokens[0:32] == tokens[32:64]), np.mean(tokens[64:96] == tokens[96:128])]
  # The tunes end by themselves, near their 128 steps; random parts of these 8 pitches would
  # agree on about 1 step in 8, the tunes' own parts on all of them.
  assert np.mean(ended) >= 0.9
  assert 112 <= np.median(lengths) <= 144
  assert np.mean(same) >= 0.8
  # The end rules reach the sampler: no tune of these 128-step tunes ends before 140 steps.
  ok(run_module('sample', '--experiment_dir=exp', '--num_files=20', '--file_length=400',
                '--seed=0', '--save_dir=ruled', '--min_length=140', '--home_ending=2',
                f'--cache_dir={tmp_path / "cache"}', cwd=tmp_path))
  ruled = [miditoolkit.MidiFile(str(tmp_path / 'ruled' / f'{index:02d}.mid'))
           for index in range(1, 21)]
  assert min(melody_file.end_marker_steps(midi) for midi in ruled) >= 140
  # evaluate scores the notes as before and the ends apart; report reads the files as tunes.
  ok(run_module('evaluate', '--experiment_dir=exp', f'--cache_dir={tmp_path / "cache"}',
                cwd=tmp_path))
  scores = json.loads((tmp_path / 'exp' / 'eval' / 'validation.json').read_text())
  assert scores['lstm_whole_track']['all']['nll_nats'] < scores['ngram']['all']['nll_nats']
  assert 0 < scores['tune_ends']['end_nll_nats'] < 1  # It knows where these tunes end.
  # Of each tune's 9 bar lines (the last before its end) 4 start a copy of the bar 2 back: the
  # model knows which far better than a coin weighted 4 to 5 (0.687 nats).
  copies = scores['bar_copies']
  assert copies['share_of_copies'] == pytest.approx(4 / 9, abs=0.02)
  assert copies['nll_nats'] < 0.45
  ok(run_module('report', '--experiment_dir=exp', '--generated_dir=out', '--reference=validation',
                f'--cache_dir={tmp_path / "cache"}', cwd=tmp_path))
  report = json.loads((tmp_path / 'exp' / 'report' / 'report.json').read_text())['tunes']
  assert report['generated']['ended_by_model'] == np.mean(ended)
  assert report['reference']['median_steps'] == 128
  # AABB of two-bar parts: bars 3, 4, 7 and 8 repeat an earlier bar (of 7 after the first).
  assert report['reference']['bar_repetition'] == pytest.approx(4 / 7, abs=0.05)


def test_tune_ends_need_the_sequence_mode(tmp_path):
  result = run_module('train', '--tune_ends', '--mode=window', cwd=tmp_path)
  assert result.returncode == 1  # absl's own refusal of a flag combination.
  assert '--tune_ends needs --mode=sequence' in result.stderr
  assert not (tmp_path / 'experiments').exists()


def test_home_after_each_step_is_ends_home_of_every_prefix():
  rng = np.random.default_rng(0)
  scale = np.array([62, 64, 66, 67, 69, 71, 73, 74]) + 1  # D major
  for _ in range(20):
    length = int(rng.integers(1, 80))
    tokens = np.repeat(rng.choice(np.append(scale, encoding.REST), length), rng.integers(1, 4, length))
    bar = int(rng.choice([8, 12, 16]))
    positions = (np.arange(len(tokens)) + int(rng.integers(bar))) % bar
    meter = encoding.Meter(positions.astype(np.uint8), np.full(len(tokens), bar, np.uint8),
                           np.full(len(tokens), 4, np.uint8))
    expected = [tunes.ends_home(tokens[:j + 1], encoding.Meter(*(a[:j + 1] for a in meter)))
                for j in range(len(tokens))]
    np.testing.assert_array_equal(tunes.home_after_each_step(tokens, meter), expected)


def test_a_tune_whose_last_bar_completes_its_pickup_does_so_as_sample_writes_it(tmp_path):
  # A 4-step pickup in 4/4, a whole bar, and a last bar of 12 steps; then one step more.
  for steps, completes in ((4 + 16 + 12, True), (4 + 16 + 13, False)):
    tokens = np.tile(np.array([61, 61, 63, 65], np.uint8), 9)[:steps]
    positions = ((12 + np.arange(steps)) % 16).astype(np.uint8)
    meter = encoding.Meter(positions, np.full(steps, 16, np.uint8), np.full(steps, 4, np.uint8))
    assert tunes.start_position(meter) == 12
    assert tunes.completes_first_bar(meter) == completes
    # Written as sample writes it (the pickup a bar of its own) and read back: the same meter,
    # so the same bars (the pickup none of them) and figures.
    folder = tmp_path / str(steps)
    folder.mkdir()
    melody_file.tokens_to_midi(tokens, steps_per_quarter=4, tune_ended=True, first_position=12,
                               bar_length=16).dump(str(folder / '01.mid'))
    written = report.generated_melodies(str(folder), 4)['01.mid']
    for read, wrote in zip(written.meter, meter):
      np.testing.assert_array_equal(read, wrote)
    assert tunes.tune_features(written.tokens, written.meter) == tunes.tune_features(tokens, meter)
    # A pickup written as a bar of its own is told apart too, as a real file may hold one.
    short_first = encoding.Meter(np.concatenate([np.arange(4), np.arange(steps - 4) % 16]
                                                ).astype(np.uint8), meter.bar_lengths,
                                 meter.beat_units)
    assert tunes.start_position(short_first) == 12
    assert tunes.completes_first_bar(short_first) == completes
  # Without a pickup, the last bar completes the first where it is whole.
  whole = encoding.Meter((np.arange(32) % 16).astype(np.uint8), np.full(32, 16, np.uint8),
                         np.full(32, 4, np.uint8))
  assert tunes.start_position(whole) == 0 and tunes.completes_first_bar(whole)


def test_sample_draws_a_degenerate_tune_again_and_keeps_the_others(tmp_path):
  # Two tunes in three play C and E in turn for 4 bars (degenerate, as report counts: a loop);
  # the others move among other notes.
  rng = np.random.default_rng(0)
  data = tmp_path / 'tunes'
  data.mkdir()
  for index in range(45):
    lengths = [4] * 16 if index % 3 else rng.choice([2, 4], 21)
    pitches = [60, 64] * 8 if index % 3 else rng.choice([62, 65, 67, 69], 21)
    starts = np.cumsum([0, *lengths])[:-1]
    notes = [(int(pitch), int(start) * TICKS_PER_STEP, int(start + length) * TICKS_PER_STEP)
             for pitch, start, length in zip(pitches, starts, lengths)]
    write_midi(data / f'{index:03d}.mid', [(notes, False)])
  cache = f'--cache_dir={tmp_path / "cache"}'
  ok(run_module('train', f'--data_dir={data}', '--mode=sequence', '--tune_ends', '--rnn_size=32',
                '--num_epochs=10', '--batch_size=8', '--sequence_length=64', '--window_size=8',
                '--learning_rate=0.01', '--experiment_dir=exp', cache, cwd=tmp_path))

  def sample(redraws):
    stderr = ok(run_module('sample', '--experiment_dir=exp', '--num_files=30', '--seed=0',
                           '--file_length=200', f'--save_dir=r{redraws}', f'--redraws={redraws}',
                           cache, cwd=tmp_path))
    folder = tmp_path / f'r{redraws}'
    files = {path.name: path.read_bytes() for path in folder.glob('*.mid')}
    degenerate = {name for name, melody in report.generated_melodies(str(folder), 4).items()
                  if stats.degeneration(melody.tokens)}
    return stderr, files, degenerate

  kept_stderr, kept, first_degenerate = sample(0)
  redrawn_stderr, redrawn, still_degenerate = sample(4)
  assert 'drawn again' not in kept_stderr and first_degenerate
  assert (f'{len(first_degenerate)} of 30 tunes came out degenerate and were drawn again: '
          f'{", ".join(sorted(first_degenerate))}') in redrawn_stderr
  assert len(still_degenerate) < len(first_degenerate) / 2
  # The tunes that came out well the first time are the same files.
  assert all(redrawn[name] == kept[name] for name in kept if name not in first_degenerate)


def test_text_roll_draws_each_step_of_a_written_tune_in_its_pitchs_row(tmp_path, monkeypatch):
  monkeypatch.syspath_prepend(str(REPO / 'scripts'))
  import text_roll
  # A 4-step pickup in 4/4 (D4 C4 rest C4), then two bars: E4 held across their bar line, a
  # rest, C4.
  tokens = np.array([63, 61, 0, 61] + [65] * 20 + [0] + [61] * 11, np.uint8)
  folder = tmp_path / 'tunes'
  folder.mkdir()
  melody_file.tokens_to_midi(tokens, steps_per_quarter=4, tune_ended=True, first_position=12,
                             bar_length=16).dump(str(folder / '01.mid'))
  *rows, numbers = text_roll.file_roll(str(folder / '01.mid'))
  assert [row.split()[0] for row in rows] == ['E4', 'D4', 'C4']
  for row, token in zip(rows, (65, 63, 61)):
    cells = np.array(list(row[3:]))
    assert len(cells) == len(tokens)
    np.testing.assert_array_equal(cells == text_roll.SOUNDING, tokens == token)
    # A bar line where a bar begins and the row is silent: steps 4 and 20.
    np.testing.assert_array_equal(np.flatnonzero(cells == text_roll.BAR_LINE),
                                  [s for s in (4, 20) if tokens[s] != token])
  assert numbers[3 + 4] == '1' and numbers[3 + 20] == '2' and numbers.split() == ['1', '2']


def test_text_roll_names_a_file_it_cannot_draw_in_one_error_line(tmp_path):
  drums = write_midi(tmp_path / 'drums.mid', [([(36, 0, 480)], True)])
  broken = tmp_path / 'broken.mid'
  broken.write_bytes(b'MThd no more')
  for path in (tmp_path / 'missing.mid', tmp_path, drums, broken):
    result = subprocess.run([sys.executable, str(REPO / 'scripts' / 'text_roll.py'), str(path)],
                            env={**os.environ, 'PYTHONPATH': str(REPO)}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith('error: ') and result.stderr.count('\n') == 1
    assert str(path) in result.stderr and not result.stdout


def test_end_bars_follows_aa_tunes_to_a_second_strain_played_twice(monkeypatch):
  monkeypatch.syspath_prepend(str(REPO / 'scripts'))
  import end_bars
  strain_a, strain_b, strain_c = ([(first + i,) for i in range(8)] for first in (10, 30, 50))
  aabb, aa = 2 * strain_a + 2 * strain_b, 2 * strain_a
  aabc, ab = 2 * strain_a + strain_b + strain_c, strain_a + strain_b
  # A second time through whose last bar differs (a second ending) is still one.
  ending = aabb[:15] + [(99,)] + aabb[16:31] + [(98,)]
  assert end_bars.strains_after_aa([aabb, aa, aabc, ab]) == (3, 2, 1)
  assert end_bars.strains_after_aa([ending, aa[:15]]) == (1, 1, 1)
