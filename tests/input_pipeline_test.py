"""Folder reading, the parse cache, the split and the batches."""

import dataclasses
import os

import jax
import miditoolkit
import numpy as np
import pytest

from conftest import build_midi, scale_melody, write_midi
from midi_rnn_jax.data import (bar_copies, cached_tracks, dataset, encoding, input_pipeline,
                               model_inputs, parse_cache)
from midi_rnn_jax.data.model_inputs import StepInputs
from midi_rnn_jax.errors import UserError

WINDOW = 8


@pytest.fixture
def data_dir(tmp_path):
  """Ten usable melodies (two in a sub-folder), a drum-only file and a corrupt file."""
  folder = tmp_path / 'midi'
  (folder / 'sub').mkdir(parents=True)
  for i in range(10):
    name = f'sub/tune{i}.MIDI' if i < 2 else f'tune{i}.mid'
    write_midi(folder / name, [(scale_melody(30 + 5 * i, 120, first_pitch=50 + i), False)])
  write_midi(folder / 'drums.mid', [(scale_melody(30, 120), True)])
  (folder / 'corrupt.mid').write_bytes(b'MThd\x00\x00\x00\x06garbage')
  (folder / 'notes.txt').write_text('not midi')
  return folder


def load(data_dir, cache_dir, warnings, n_jobs=1):
  """(records, summary) of ``load_corpus``."""
  corpus = dataset.load_corpus(str(data_dir), WINDOW, str(cache_dir), n_jobs,
                               warnings.append)
  return corpus.records, corpus.summary


def test_reads_recursively_skips_bad_files_and_caches(data_dir, tmp_path):
  warnings = []
  records, summary = load(data_dir, tmp_path / 'cache', warnings)
  assert len(records) == 10
  assert len(warnings) == 1 and 'corrupt.mid' in warnings[0]
  assert summary.startswith('data: 12 files found, 10 used, 2 skipped (1 unreadable, 1 with no '
                            'usable track); 10 tracks used')
  assert summary.endswith('11 parsed, 0 from cache')
  again, summary = load(data_dir, tmp_path / 'cache', warnings)
  assert summary.endswith('0 parsed, 11 from cache')
  assert len(warnings) == 2  # An unreadable file is not cached: it is tried, and named, again.
  assert [r.path for r in again] == [r.path for r in records]
  for record in again:
    (tokens,) = cached_tracks.load_tracks(record, WINDOW)
    (direct,), _ = encoding.encode_midi(miditoolkit.MidiFile(record.path))
    np.testing.assert_array_equal(tokens, direct.tokens)


def test_every_file_and_track_is_named_with_what_became_of_it(data_dir, tmp_path):
  legato = [(pitch, start, end + 60) for pitch, start, end in scale_melody(30, 120)]  # Overlaps.
  chords = [(p, start, end) for start, end, top in [(i * 240, (i + 1) * 240, 72 + i % 5)
                                                    for i in range(30)] for p in (top, top - 12)]
  write_midi(data_dir / 'mixed.mid', [(scale_melody(30, 120), False),
                                      ([(60, 0, 480), (64, 0, 480)], False),  # A chord.
                                      (scale_melody(WINDOW, 120), False),  # Too short.
                                      (legato, False), (chords, False)])
  (data_dir / 'cut.mid').write_bytes((data_dir / 'tune3.mid').read_bytes()[:40])
  for cached in (False, True):
    corpus = dataset.load_corpus(str(data_dir), WINDOW, str(tmp_path / 'cache'), 1,
                                 lambda _: None)
    rows = {(os.path.basename(path), track): reason for path, track, reason in corpus.skipped}
    assert set(rows) == {('corrupt.mid', ''), ('cut.mid', ''), ('drums.mid', '1'),
                         ('mixed.mid', '2'), ('mixed.mid', '3'), ('mixed.mid', '5')}, cached
    assert rows[('cut.mid', '')] == 'unreadable: EOFError: the file ends early'
    assert rows[('corrupt.mid', '')].startswith('unreadable: ')
    assert rows[('drums.mid', '1')] == 'skipped: drum track'
    assert rows[('mixed.mid', '2')].startswith('skipped: chords')
    assert rows[('mixed.mid', '3')].startswith(f'skipped: too short, {WINDOW} notes over {WINDOW} '
                                               'steps')
    every = {(os.path.basename(path), track): what for path, track, what in corpus.tracks}
    assert every[('mixed.mid', '1')] == 'kept'
    assert every[('mixed.mid', '4')] == 'kept with 29 notes cut'
    assert '29 notes cut (legato), 0 dropped in 0 tracks' in corpus.summary
  top = dataset.load_corpus(str(data_dir), WINDOW, str(tmp_path / 'cache'), 1,
                            lambda _: None, encoding.ReadingRules(polyphony='top'))
  every = {(os.path.basename(path), track): what for path, track, what in top.tracks}
  assert every[('mixed.mid', '5')] == 'reduced to its top line: 30 notes dropped, 0 cut'
  assert '29 notes cut (legato), 31 dropped in 2 tracks' in top.summary


def test_zero_length_notes_leave_a_melody_monophonic(tmp_path):
  """miditoolkit writes a zero-length note as note-off then note-on; read back first-in
  first-out, that note-on would sound until the next note-off of its pitch."""
  melody = scale_melody(24, 120)
  zero_length = [(64, 240, 240), (64, 1200, 1200), (70, 600, 600)]
  path = write_midi(tmp_path / 'zero.mid', [(melody + zero_length, False)])
  (track,), skipped = parse_cache.encode_file(str(path))
  assert not any(skipped.values())
  (expected,), _ = encoding.encode_midi(build_midi([(melody, False)]))
  np.testing.assert_array_equal(track.tokens, expected.tokens)


def test_parallel_parse_matches_serial(data_dir, tmp_path):
  serial, _ = load(data_dir, tmp_path / 'serial', [])
  parallel, _ = load(data_dir, tmp_path / 'parallel', [], n_jobs=2)
  for a, b in zip(serial, parallel, strict=True):
    assert a.path == b.path
    np.testing.assert_array_equal(cached_tracks.load_tracks(a, WINDOW)[0],
                                  cached_tracks.load_tracks(b, WINDOW)[0])


def test_a_changed_file_is_parsed_again(data_dir, tmp_path):
  load(data_dir, tmp_path / 'cache', [])
  write_midi(data_dir / 'tune5.mid', [(scale_melody(90, 120), False)])
  records, summary = load(data_dir, tmp_path / 'cache', [])
  assert summary.endswith('1 parsed, 10 from cache')  # Only tune5 changed.
  (changed,) = [r for r in records if r.path.endswith('tune5.mid')]
  assert changed.track_lengths.tolist() == [90]


def test_no_usable_data_is_a_clear_error(tmp_path):
  write_midi(tmp_path / 'short.mid', [(scale_melody(WINDOW, 120), False)])
  with pytest.raises(UserError, match='no usable MIDI track in --data_dir'):
    load(tmp_path, tmp_path / 'cache', [])
  with pytest.raises(UserError, match='is not a folder'):
    load(tmp_path / 'missing', tmp_path / 'cache', [])


def test_split_is_by_file_stable_when_files_are_added(tmp_path):
  data = tmp_path / 'data'
  data.mkdir()
  for i in range(101):
    write_midi(data / f'tune{i:03d}.mid', [(scale_melody(WINDOW + 2, 120), False)])
  records, _ = load(data, tmp_path / 'cache', [])
  first_100 = [r for r in records if not r.path.endswith('tune100.mid')]
  train, validation = dataset.split_files(first_100, str(data), seed=3)
  assert 10 <= len(validation) <= 30 and len(train) + len(validation) == 100
  assert not {r.path for r in train} & {r.path for r in validation}
  # One more file moves no other file; the same folder elsewhere splits the same way.
  more_train, more_validation = dataset.split_files(records, str(data), seed=3)
  assert {r.path for r in validation} <= {r.path for r in more_validation}
  assert {r.path for r in train} <= {r.path for r in more_train}
  moved = [dataclasses.replace(r, path=r.path.replace(str(data), str(tmp_path / 'elsewhere')))
           for r in first_100]
  assert ([os.path.basename(r.path) for r in dataset.split_files(
      moved, str(tmp_path / 'elsewhere'), seed=3)[1]] == [os.path.basename(r.path) for r in validation])
  other_seed = dataset.split_files(first_100, str(data), seed=4)[1]
  assert {r.path for r in other_seed} != {r.path for r in validation}
  # Small folders still hold one file out, and a single file trains.
  assert [len(part) for part in dataset.split_files(records[:2], str(data), 0)] == [1, 1]
  assert dataset.split_files(records[:1], str(data), 0) == (records[:1], [])


def all_windows(batches):
  rows = [np.append(i, t) for b in batches
          for i, t, w in zip(b.inputs.tokens, b.targets, b.weights) if w == 1]
  return np.array(rows)


def test_batches_hold_every_window_once_whatever_the_group_size(data_dir, tmp_path):
  records, _ = load(data_dir, tmp_path / 'cache', [])
  expected = sum(r.num_windows(WINDOW) for r in records)
  in_order = {}
  for group in (1, 3, 100):
    batches = list(input_pipeline.iterate_batches(
        records, window_size=WINDOW, batch_size=16, max_files_in_ram=group, rng=None))
    assert all(b.inputs.tokens.shape == (16, WINDOW) for b in batches)
    assert sum(b.weights.sum() for b in batches) == expected
    assert all(b.weights.all() for b in batches[:-1])
    in_order[group] = all_windows(batches)
  np.testing.assert_array_equal(in_order[1], in_order[100])
  np.testing.assert_array_equal(in_order[3], in_order[100])
  shuffled = all_windows(input_pipeline.iterate_batches(
      records, window_size=WINDOW, batch_size=16, max_files_in_ram=3,
      rng=np.random.default_rng(0)))
  assert not np.array_equal(shuffled, in_order[3])
  assert sorted(map(tuple, shuffled)) == sorted(map(tuple, in_order[3]))


@pytest.mark.parametrize('iterate', [input_pipeline.iterate_batches, input_pipeline.iterate_sequences])
def test_each_input_step_carries_its_own_bar_position(tmp_path, iterate):
  # One-step notes of distinct pitches, so each token names its step; 3/4 with a pickup.
  midi = build_midi([([(30 + i, (2 + i) * 120, (3 + i) * 120) for i in range(60)], False)])
  midi.time_signature_changes = [miditoolkit.TimeSignature(3, 4, 0)]
  midi.dump(str(tmp_path / 'steps.mid'))
  (track,), _ = encoding.encode_midi(midi)
  position_of = dict(zip(track.tokens.tolist(), track.positions.tolist()))
  assert sorted(set(position_of.values())) == list(range(12)) and track.positions[0] == 2
  records = parse_cache.read_records([str(tmp_path / 'steps.mid')], str(tmp_path / 'cache'),
                                     1, print)
  extra = {'sequence_length': 16} if iterate is input_pipeline.iterate_sequences else {}
  batches = list(iterate(records, window_size=WINDOW, batch_size=8, max_files_in_ram=1,
                         rng=np.random.default_rng(0), inputs=('bar_position',), **extra))
  checked = 0
  for batch in batches:
    for inputs, positions, weights in zip(batch.inputs.tokens, batch.inputs.bar_position,
                                          batch.weights):
      steps = np.broadcast_to(weights > 0, inputs.shape)  # A window's weight, or each step's.
      expected = [position_of[token] for token in inputs[steps]]
      np.testing.assert_array_equal(positions[steps], expected)
      checked += len(expected)
  assert checked >= 60 - WINDOW


@pytest.fixture
def loaded(monkeypatch):
  """The paths of the files the input pipeline reads from the parse cache, in order."""
  paths = []
  real_load = cached_tracks.load_tracks_and_meters
  monkeypatch.setattr(cached_tracks, 'load_tracks_and_meters',
                      lambda record, window: paths.append(record.path) or real_load(record, window))
  return paths


def test_max_files_in_ram_bounds_the_files_loaded_at_once(data_dir, tmp_path, loaded):
  records, _ = load(data_dir, tmp_path / 'cache', [])
  batches = input_pipeline.iterate_batches(records, window_size=WINDOW, batch_size=4,
                                           max_files_in_ram=3, rng=None)
  next(batches)
  assert len(loaded) == 3  # Only the first group is read before the first batch.
  list(batches)
  assert len(loaded) == 10


def test_a_track_cache_reads_each_file_once_and_gives_the_same_batches(data_dir, tmp_path,
                                                                       loaded):
  records, _ = load(data_dir, tmp_path / 'cache', [])
  common = dict(window_size=WINDOW, sequence_length=16, batch_size=4, max_files_in_ram=10,
                inputs=('bar_position', 'lookback'), tune_ends=True)
  cache = {}
  for epoch in range(3):  # Each epoch its own order of tracks and rows.
    cached = input_pipeline.iterate_sequences(records, rng=np.random.default_rng(epoch),
                                              cache=cache, **common)
    direct = input_pipeline.iterate_sequences(records, rng=np.random.default_rng(epoch), **common)
    for a, b in zip(cached, direct, strict=True):
      for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
  assert len(loaded) == 10 + 3 * 10  # Once into the cache; every epoch without it.
  assert sorted(cache) == sorted(r.path for r in records)


def test_transposition_keeps_every_token_in_range_and_the_melody_intact():
  rng = np.random.default_rng(0)
  inputs = rng.integers(0, 129, (500, 12)).astype(np.uint8)
  inputs[:50] = np.where(inputs[:50] > 0, 128, 0)  # Windows at the top of the range...
  inputs[50:100] = np.where(inputs[50:100] > 0, 1, 0)  # ...at the bottom...
  inputs[100:110] = 0  # ...and silent ones.
  targets = rng.integers(0, 129, 500).astype(np.uint8)
  targets[:100] = 0
  batch = input_pipeline.Batch(StepInputs(inputs), targets, np.ones(500, np.float32))
  shifted = input_pipeline.transpose(batch, max_semitones=12, rng=rng)
  before = np.concatenate([inputs, targets[:, None]], 1).astype(int)
  after = np.concatenate([shifted.inputs.tokens, shifted.targets[:, None]], 1).astype(int)
  assert after.min() >= 0 and after.max() <= 128
  np.testing.assert_array_equal(after == 0, before == 0)  # Rests stay rests, pitches pitches.
  shift = np.where(before > 0, after - before, 0)
  per_window = shift.sum(1) // np.maximum((before > 0).sum(1), 1)
  assert (shift == np.where(before > 0, per_window[:, None], 0)).all()  # One shift per window.
  assert np.abs(per_window).max() <= 12
  assert (per_window[:50] <= 0).all() and (per_window[50:100] >= 0).all()
  assert len(np.unique(per_window[110:])) == 25  # Every shift in -12..12 is drawn.
  # Lookback tokens move with their window, and keep every token in range.
  num_bars = len(model_inputs.LOOKBACK_BARS)
  lookbacks = rng.integers(0, model_inputs.NO_LOOKBACK + 1, (500, 12, num_bars)).astype(np.uint8)
  lookbacks[:50] = np.where(lookbacks[:50] % 3 == 0, 128, lookbacks[:50])
  flags = rng.integers(0, 2, (500, 12, num_bars)).astype(np.uint8)
  with_lookbacks = batch.inputs._replace(lookback=np.concatenate([lookbacks, flags], -1))
  shifted = input_pipeline.transpose(batch._replace(inputs=with_lookbacks), max_semitones=12,
                                     rng=rng)
  np.testing.assert_array_equal(shifted.inputs.lookback[..., num_bars:], flags)  # Flags stay.
  before = np.concatenate([inputs, targets[:, None]], 1).astype(int)
  after = np.concatenate([shifted.inputs.tokens, shifted.targets[:, None]], 1).astype(int)
  per_window = np.where(before > 0, after - before, 0).sum(1) // np.maximum((before > 0).sum(1), 1)
  pitches = (lookbacks > 0) & (lookbacks < model_inputs.NO_LOOKBACK)
  moved = shifted.inputs.lookback[..., :num_bars].astype(int) - lookbacks
  sounding = (before > 0).any(1)  # Windows whose shift the tokens show.
  assert (moved == np.where(pitches, per_window[:, None, None], 0))[sounding].all()
  shifted_lookbacks = shifted.inputs.lookback[..., :num_bars]
  assert shifted_lookbacks[pitches].max() <= 128 and shifted_lookbacks[pitches].min() >= 1


def test_sequence_chunks_predict_every_step_of_every_track_once(data_dir, tmp_path):
  records, _ = load(data_dir, tmp_path / 'cache', [])
  tracks, meters = cached_tracks.all_tracks_and_meters(records, WINDOW)
  inputs = ('bar_position', 'lookback')
  lookbacks = [model_inputs.track_inputs(t, m.positions, inputs).lookback
               for t, m in zip(tracks, meters)]
  copies = [bar_copies.copy_targets(t, m.positions) for t, m in zip(tracks, meters)]
  expected = sorted((int(t[i - 1]), int(t[i]), int(m.positions[i - 1]), int(c[i - 1]),
                     *map(int, lb[i - 1]))
                    for t, m, lb, c in zip(tracks, meters, lookbacks, copies)
                    for i in range(1, len(t)))
  assert any(e[3] > 1 for e in expected)  # Some bars copy an earlier one.
  assert any(e[3] != model_inputs.NO_LOOKBACK for e in expected)
  for rng in (None, np.random.default_rng(1)):
    batches = list(input_pipeline.iterate_sequences(
        records, window_size=WINDOW, sequence_length=24, batch_size=8, max_files_in_ram=3,
        rng=rng, inputs=inputs, copy_bars=True))
    assert all(b.inputs.tokens.shape == b.targets.shape == b.inputs.bar_position.shape
               == (8, 24) and b.inputs.lookback.shape == (8, 24, 2 * len(model_inputs.LOOKBACK_BARS))
               for b in batches)
    seen = sorted((int(i), int(t), int(p), int(c), *map(int, lb)) for b in batches
                  for i, t, p, c, lb, w in zip(b.inputs.tokens.ravel(), b.targets.ravel(),
                                               b.inputs.bar_position.ravel(),
                                               b.bar_copies.ravel(),
                                               b.inputs.lookback.reshape(b.targets.size, -1),
                                               b.weights.ravel()) if w == 1)
    # Each (input, target, bar position, copy target, lookbacks) once, as in the tracks.
    assert seen == expected


def test_a_damaged_cache_entry_is_parsed_again_with_a_warning(data_dir, tmp_path):
  records, _ = load(data_dir, tmp_path / 'cache', [])
  truncated, foreign = records[0], records[1]
  data = open(truncated.cache_file, 'rb').read()
  with open(truncated.cache_file, 'wb') as f:
    f.write(data[:len(data) // 2])
  np.savez(foreign.cache_file.removesuffix('.npz'), unrelated=np.zeros(3))  # Wrong keys.
  warnings = []
  again, summary = load(data_dir, tmp_path / 'cache', warnings)
  damaged = [w for w in warnings if 'damaged cache entry' in w]
  assert len(damaged) == 2 and summary.endswith('2 parsed, 9 from cache')
  for before, after in zip(records, again, strict=True):
    np.testing.assert_array_equal(cached_tracks.load_tracks(before, WINDOW)[0],
                                  cached_tracks.load_tracks(after, WINDOW)[0])
  warnings = []
  load(data_dir, tmp_path / 'cache', warnings)  # The entries were written anew.
  assert not any('damaged cache entry' in w for w in warnings)
