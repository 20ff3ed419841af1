"""MIDI <-> tokens: hand-built files with known notes, the grid rules, round trips, windows."""

import miditoolkit
import numpy as np
import pytest

from conftest import build_midi, write_midi
from midi_rnn_jax.data import (encoding, melody_file, melody_lines, model_inputs, parse_cache,
                               slicing)
from midi_rnn_jax.evaluation import tunes

# A phrase in steps: (pitch, first step, steps held); the gap at steps 2-3 is a rest.
PHRASE = [(60, 0, 2), (62, 4, 1), (64, 5, 3), (65, 8, 1), (60, 9, 2)]
PHRASE_TOKENS = [61, 61, 0, 0, 63, 65, 65, 65, 66, 61, 61]


def phrase_notes(ticks_per_step, offset_steps=0):
  return [(p, (s + offset_steps) * ticks_per_step, (s + offset_steps + n) * ticks_per_step)
          for p, s, n in PHRASE]


def encode_file(path):
  tracks, skipped = encoding.encode_midi(miditoolkit.MidiFile(str(path)))
  return tracks, skipped


@pytest.mark.parametrize('ticks_per_beat,bpm', [(220, 120.0), (480, 90.0), (220, 90.0), (96, 140.0)])
def test_known_notes_give_exact_tokens_at_any_tempo_and_resolution(tmp_path, ticks_per_beat, bpm):
  ticks_per_step = ticks_per_beat // 4
  path = write_midi(tmp_path / 'phrase.mid', [(phrase_notes(ticks_per_step, offset_steps=3), False)],
                    ticks_per_beat=ticks_per_beat, bpm=bpm)
  (track,), _ = encode_file(path)
  # Leading silence (3 steps) is trimmed; the inner rest is kept.
  assert track.tokens.tolist() == PHRASE_TOKENS
  assert track.num_notes == len(PHRASE) and track.notes_lost == 0


def test_chord_and_drum_tracks_are_skipped_and_a_legato_track_is_kept(tmp_path):
  melody = phrase_notes(120)
  chord = [(60, 0, 480), (64, 0, 480), (67, 480, 960)]
  legato = [(60, 0, 240), (62, 120, 360)]  # Half a step of overlap: 60 ends where 62 starts.
  path = write_midi(tmp_path / 'mixed.mid', [(melody, False), (chord, False), (legato, False),
                                             (melody, True)])
  tracks, skipped = encode_file(path)
  assert [t.tokens.tolist() for t in tracks] == [PHRASE_TOKENS, [61, 63, 63]]
  assert [(t.track, t.notes_cut, t.notes_dropped) for t in tracks] == [(1, 0, 0), (3, 1, 0)]
  assert skipped == {'drum': [4], 'polyphonic': [2], 'too_long': [], 'empty': [],
                     'not_chosen': []}


def test_broken_tracks_are_skipped_not_fatal():
  huge = build_midi([([(60, 0, 120), (62, 120, 120 * (encoding.MAX_TRACK_STEPS + 5))], False),
                     ([(60, 0, 0)], False)])  # A zero-length note is dropped, leaving nothing.
  tracks, skipped = encoding.encode_midi(huge)
  assert tracks == [] and skipped['too_long'] == [1] and skipped['empty'] == [2]
  with pytest.raises(ValueError, match='ticks per beat'):
    encoding.encode_midi(build_midi([(phrase_notes(120), False)], ticks_per_beat=0))


def test_legato_slop_and_fast_runs_stay_monophonic():
  # A 5-tick legato overlap (under a 64th note at 480 ticks/beat = 30 ticks) is slop.
  start, end, _ = encoding.note_arrays(build_midi([([(60, 0, 245), (62, 240, 360)], False)])
                                       .instruments[0].notes)
  assert not melody_lines.has_overlap(start, end, tolerance=30)
  assert melody_lines.has_overlap(start, end, tolerance=4)
  # Two onsets inside one 16th step never overlap in ticks: monophonic.
  run = build_midi([([(70, 0, 60), (72, 60, 120), (74, 120, 240)], False)]).instruments[0].notes
  track = encoding.encode_track(run, ticks_per_beat=480)
  # Step 0 is a tie (60 ticks each): the earlier note wins and the 32nd note 72 is lost.
  assert track.tokens.tolist() == [71, 75]
  assert track.notes_lost == 1


def test_largest_share_wins_and_small_slivers_do_not_count():
  # 72 starts 5 ticks early over a held 60: step 1 stays 60, 72 starts at step 2.
  legato = build_midi([([(60, 0, 240), (72, 235, 360)], False)]).instruments[0].notes
  assert encoding.encode_track(legato, 480).tokens.tolist() == [61, 61, 73]
  # After a rest, an onset 5 ticks before a step boundary does not claim the step before.
  early = build_midi([([(60, 0, 120), (72, 355, 480)], False)]).instruments[0].notes
  assert encoding.encode_track(early, 480).tokens.tolist() == [61, 0, 0, 73]
  # A note covering 70% of a step beats one covering 30% of it.
  shares = build_midi([([(60, 0, 84), (64, 84, 240)], False)]).instruments[0].notes
  assert encoding.encode_track(shares, 480).tokens.tolist() == [61, 65]


def test_usable_needs_more_notes_and_steps_than_a_window(tmp_path):
  build_midi([([(60 + i % 5, i * 120, (i + 1) * 120) for i in range(20)], False)]).dump(
      str(tmp_path / 'twenty.mid'))
  (record,) = parse_cache.read_records([str(tmp_path / 'twenty.mid')], str(tmp_path / 'cache'),
                                       1, print)
  assert record.usable(window_size=19).tolist() == [True]
  assert record.usable(window_size=20).tolist() == [False]


def test_decode_then_encode_is_identity_on_random_tokens(tmp_path):
  rng = np.random.default_rng(0)
  for trial in range(25):
    tokens = rng.integers(0, encoding.NUM_CLASSES, rng.integers(1, 400)).astype(np.uint8)
    # Runs of rests and repeated pitches must survive too.
    tokens[rng.random(len(tokens)) < 0.3] = 0
    tokens = np.repeat(tokens, rng.integers(1, 4, len(tokens)))
    tokens[0], tokens[-1] = rng.integers(1, 129, 2)  # The encoder trims edge silence.
    path = tmp_path / f'{trial}.mid'
    melody_file.tokens_to_midi(tokens).dump(str(path))
    (track,), _ = encode_file(path)
    np.testing.assert_array_equal(track.tokens, tokens)


def test_decode_keeps_length_and_encode_trims_edge_rests(tmp_path):
  tokens = np.array([0, 0, 61, 61, 0, 65, 0, 0, 0], np.uint8)
  midi = melody_file.tokens_to_midi(tokens, program=40, bpm=100.0, velocity=64)
  midi.dump(str(tmp_path / 'edges.mid'))
  back = miditoolkit.MidiFile(str(tmp_path / 'edges.mid'))
  ticks_per_step = back.ticks_per_beat // 4
  assert back.markers[-1].time == len(tokens) * ticks_per_step
  assert [(n.pitch, n.start // ticks_per_step, n.end // ticks_per_step, n.velocity)
          for n in back.instruments[0].notes] == [(60, 2, 4, 64), (64, 5, 6, 64)]
  assert back.instruments[0].program == 40
  assert back.tempo_changes[0].tempo == pytest.approx(100.0)
  (track,), _ = encoding.encode_midi(back)
  assert track.tokens.tolist() == [61, 61, 0, 65]
  assert melody_file.end_marker_steps(back) == len(tokens)  # What the report counts as steps.
  back.markers = []
  assert melody_file.end_marker_steps(back) is None


def test_one_hot_rows():
  rows = encoding.one_hot(np.array([[0, 128], [61, 5]]))
  assert rows.shape == (2, 2, encoding.NUM_CLASSES)
  assert rows.sum(-1).tolist() == [[1, 1], [1, 1]]
  assert rows[1, 0, 61] == 1 and rows[0, 1, 128] == 1


def test_each_window_targets_exactly_the_next_step_within_its_track():
  rng = np.random.default_rng(1)
  lengths = [25, 3, 40, 21, 20]
  window_size = 20
  tracks = [rng.integers(0, 129, n).astype(np.uint8) for n in lengths]
  flat = np.concatenate(tracks)
  starts = slicing.window_starts(lengths, window_size)
  inputs, targets = slicing.windows(model_inputs.StepInputs(flat), starts, window_size)
  assert len(starts) == sum(max(n - window_size, 0) for n in lengths) == 26
  bounds = np.cumsum([0] + lengths)
  for start, window, target in zip(starts, inputs.tokens, targets):
    track = np.searchsorted(bounds, start, side='right') - 1
    assert start + window_size < bounds[track + 1]  # The target lies in the same track.
    np.testing.assert_array_equal(window, flat[start:start + window_size])
    assert target == flat[start + window_size]


@pytest.mark.parametrize('steps_per_quarter', encoding.ALLOWED_STEPS_PER_QUARTER)
def test_other_grids_encode_and_decode(tmp_path, steps_per_quarter):
  ticks_per_step = 480 // steps_per_quarter
  (track,), _ = encoding.encode_midi(build_midi([(phrase_notes(ticks_per_step), False)]),
                                     encoding.ReadingRules(steps_per_quarter))
  assert track.tokens.tolist() == PHRASE_TOKENS
  midi = melody_file.tokens_to_midi(track.tokens, steps_per_quarter=steps_per_quarter)
  assert midi.instruments[0].notes[1].start == 4 * ticks_per_step
  (again,), _ = encoding.encode_midi(midi, encoding.ReadingRules(steps_per_quarter))
  assert again.tokens.tolist() == PHRASE_TOKENS


def test_triplets_fit_a_grid_of_six_steps_per_quarter():
  # Triplet 16ths (80 ticks at 480 per beat): exact on a 6-step grid, too fast for 16ths.
  triplets = build_midi([([(60 + i, 80 * i, 80 * (i + 1)) for i in range(6)], False)])
  (on_sixes,), _ = encoding.encode_midi(triplets, encoding.ReadingRules(steps_per_quarter=6))
  assert on_sixes.tokens.tolist() == [61, 62, 63, 64, 65, 66] and on_sixes.notes_lost == 0
  (on_16ths,), _ = encoding.encode_midi(triplets, encoding.ReadingRules(steps_per_quarter=4))
  assert on_16ths.notes_lost > 0


@pytest.mark.parametrize('numerator, denominator, bar_steps', [(4, 4, 16), (3, 4, 12), (6, 8, 12)])
def test_bar_positions_follow_the_time_signature_and_a_pickup(numerator, denominator, bar_steps):
  # A two-16th pickup: the melody starts two steps before the first full bar.
  ticks = 120  # One 16th at 480 ticks per beat.
  first_step = bar_steps - 2
  # Bars that repeat (a 4-step figure) for two bars, then a 5-step figure that does not.
  notes = [(60 + (i % 4 if i < 2 * bar_steps else i % 5), (first_step + i) * ticks,
            (first_step + i + 1) * ticks) for i in range(3 * bar_steps)]
  midi = build_midi([(notes, False)])
  midi.time_signature_changes = [miditoolkit.TimeSignature(numerator, denominator, 0)]
  (track,), _ = encoding.encode_midi(midi)
  assert track.positions[:4].tolist() == [bar_steps - 2, bar_steps - 1, 0, 1]
  assert track.positions.tolist() == [(first_step + i) % bar_steps for i in range(3 * bar_steps)]
  assert set(track.bar_lengths.tolist()) == {bar_steps}
  # Lookbacks: the same place one and two bars earlier; none before the track's first step
  # (the pickup's first two places have none one bar back).
  back = model_inputs.bars_back(track.positions)
  steps = np.arange(3 * bar_steps)
  for bars in (1, 2):
    expected = np.where(steps >= bars * bar_steps, steps - bars * bar_steps, -1)
    assert back[:, bars - 1].tolist() == expected.tolist()
  lookbacks = model_inputs.track_inputs(track.tokens, track.positions, ('lookback',)).lookback
  # The input step before step bar_steps + 3 sees the token step 3 had.
  assert lookbacks[bar_steps + 2, 0] == track.tokens[3]
  assert lookbacks[2 * bar_steps + 2, 1] == track.tokens[3]
  num_bars = len(model_inputs.LOOKBACK_BARS)
  assert (lookbacks[:bar_steps - 1, :num_bars] == model_inputs.NO_LOOKBACK).all()
  assert (lookbacks[-1, :num_bars] == model_inputs.NO_LOOKBACK).all()  # Nothing follows the last.
  # The repeat flags: whether each step has the token it had one bar before.
  tokens = track.tokens.astype(int)
  repeats_bar = np.concatenate([np.zeros(bar_steps, bool), tokens[bar_steps:] == tokens[:-bar_steps]])
  assert lookbacks[:, num_bars].tolist() == repeats_bar.tolist()
  assert repeats_bar.any() and not repeats_bar.all()


def test_lookbacks_follow_a_change_of_meter():
  # Two 3/4 bars (12 steps), then 2/4 bars (8 steps): one bar back is the previous bar's
  # length back, so the first 2/4 bar looks at the second 3/4 bar's start.
  positions = np.array([i % 12 for i in range(24)] + [i % 8 for i in range(16)])
  back = model_inputs.bars_back(positions)[:, 0]
  assert back[12:24].tolist() == list(range(12))
  assert back[24:32].tolist() == list(range(12, 20))
  assert back[32:40].tolist() == list(range(24, 32))
  assert (back[:12] == -1).all()


def test_bars_are_numbered_from_the_tracks_start_after_its_pickup():
  positions = np.array([2, 3] + [0, 1, 2, 3] * 70)  # A pickup of two steps, then 70 bars.
  numbers = model_inputs.bar_numbers(positions)
  assert numbers[:6].tolist() == [0, 0, 1, 1, 1, 1] and numbers[6] == 2
  assert numbers[-1] == model_inputs.MAX_BAR_NUMBER  # Later bars read as the last.


def test_bar_positions_restart_where_the_time_signature_changes_and_default_to_4_4():
  ticks = 120
  notes = [(60, i * ticks, (i + 1) * ticks) for i in range(40)]
  midi = build_midi([(notes, False)])
  midi.time_signature_changes = [miditoolkit.TimeSignature(3, 4, 0),
                                 miditoolkit.TimeSignature(2, 4, 24 * ticks)]
  (track,), _ = encoding.encode_midi(midi)
  assert track.positions.tolist() == [i % 12 for i in range(24)] + [i % 8 for i in range(16)]
  assert track.bar_lengths.tolist() == [12] * 24 + [8] * 16
  midi.time_signature_changes = []
  (track,), _ = encoding.encode_midi(midi)
  assert track.positions.tolist() == [i % 16 for i in range(40)]


def test_a_melody_that_starts_mid_bar_is_written_on_its_bar_lines(tmp_path):
  assert [melody_file.time_signature(n) for n in (16, 12, 6, 10, 7)] == [
      (4, 4), (3, 4), (3, 8), (5, 8), (7, 16)]
  # The source's beat unit, where the bar is a whole number of them: a jig, a hornpipe in 4/2.
  assert [melody_file.time_signature(n, beat_unit=u) for n, u in ((12, 8), (32, 2), (12, 2))] == [
      (6, 8), (4, 2), (3, 4)]
  tokens = np.array([61] * 6 + [63] * 6 + [0] * 3 + [65] * 12, np.uint8)
  for beat_unit, meters in ((None, [(3, 16), (3, 4)]), (8, [(3, 16), (6, 8)])):
    midi = melody_file.tokens_to_midi(tokens, first_position=9, bar_length=12,
                                      beat_unit=beat_unit)
    midi.dump(str(tmp_path / 'mid_bar.mid'))
    back = miditoolkit.MidiFile(str(tmp_path / 'mid_bar.mid'))
    # A pickup of the 3 steps left in the bar, then whole bars: exactly the melody's length.
    assert [(t.numerator, t.denominator) for t in back.time_signature_changes] == meters
    assert back.time_signature_changes[1].time == 3 * 120
    assert melody_file.end_marker_steps(back) == len(tokens)
    (track,), _ = encoding.encode_midi(back)
    np.testing.assert_array_equal(track.tokens, tokens)
    assert track.positions.tolist() == [0, 1, 2] + [i % 12 for i in range(len(tokens) - 3)]
    assert track.bar_lengths.tolist() == [3] * 3 + [12] * (len(tokens) - 3)
  # On a bar line: no pickup.
  midi = melody_file.tokens_to_midi(tokens, first_position=0, bar_length=12, beat_unit=8)
  assert [(t.numerator, t.denominator, t.time) for t in midi.time_signature_changes] == [
      (6, 8, 0)]


@pytest.mark.parametrize('ticks_per_beat', [100, 96, 220, 384, 480, 1000])
@pytest.mark.parametrize('steps_per_quarter', encoding.ALLOWED_STEPS_PER_QUARTER)
def test_written_steps_fall_on_the_nearest_tick_and_never_drift(ticks_per_beat, steps_per_quarter):
  rng = np.random.default_rng(ticks_per_beat + steps_per_quarter)
  tokens = np.repeat(rng.integers(0, 40, 300), rng.integers(1, 4, 300)).astype(np.uint8)
  tokens[0] = 61  # A note first, so the encoder trims nothing.
  midi = melody_file.tokens_to_midi(tokens, ticks_per_beat=ticks_per_beat,
                                    steps_per_quarter=steps_per_quarter)
  steps_to_ticks = ticks_per_beat / steps_per_quarter
  for note in midi.instruments[0].notes:  # Within half a tick of the exact time, step after step.
    assert abs(note.start - round(note.start / steps_to_ticks) * steps_to_ticks) <= 0.5
  assert abs(midi.markers[-1].time - len(tokens) * steps_to_ticks) <= 0.5
  (track,), _ = encoding.encode_midi(midi, encoding.ReadingRules(steps_per_quarter))
  np.testing.assert_array_equal(track.tokens, np.trim_zeros(tokens, 'b'))


def test_packed_rows_hold_every_step_of_every_track_once_with_restarts_at_track_starts():
  rng = np.random.default_rng(2)
  lengths = [5, 30, 2, 17, 9]
  tracks = [rng.integers(1, 129, n).astype(np.uint8) for n in lengths]
  flat = model_inputs.StepInputs(np.concatenate(tracks))
  order, shift = np.array([3, 0, 4, 2, 1]), 6
  inputs, targets, weights, starts, _ = slicing.packed_rows(flat, lengths, 8, order, shift)
  assert inputs.tokens.shape == targets.shape == weights.shape == starts.shape
  assert inputs.tokens.shape[1] == 8
  steps = [(int(i), int(t), int(s)) for i, t, w, s in zip(
      inputs.tokens.ravel(), targets.ravel(), weights.ravel(), starts.ravel()) if w]
  # Every (input, target) pair of every track, in the order asked, each track's first marked.
  expected = [(int(track[k]), int(track[k + 1]), int(k == 0))
              for track in (tracks[i] for i in order) for k in range(len(track) - 1)]
  assert steps == expected
  # Padding only before the first step (the shift) and after the last.
  valid = np.flatnonzero(weights.ravel())
  assert valid[0] == shift and np.all(np.diff(valid) == 1)
  assert weights.size - valid[-1] - 1 < 8


def test_extra_lookbacks_see_the_bars_3_6_12_and_16_back():
  bar = 8
  tokens = np.arange(20 * bar, dtype=np.int64) % 120 + 1  # Every step its own token.
  positions = np.arange(20 * bar) % bar
  extra = model_inputs.track_inputs(tokens, positions, ('bar_position', 'extra_lookback')
                                    ).extra_lookback
  num_bars = len(model_inputs.EXTRA_LOOKBACK_BARS)
  assert extra.shape == (len(tokens), 2 * num_bars)
  for column, bars in enumerate(model_inputs.EXTRA_LOOKBACK_BARS):
    # The input step before each step sees the token that step had ``bars`` bars earlier.
    predicted = np.arange(1, len(tokens))
    earlier = predicted - bars * bar
    expected = np.where(earlier >= 0, tokens[np.maximum(earlier, 0)], model_inputs.NO_LOOKBACK)
    assert extra[:-1, column].tolist() == expected.tolist()
  assert not extra[:, num_bars:].any()  # No step repeats one of those bars.


def test_the_repeat_match_follows_the_longest_repeat_of_an_earlier_bar():
  # Bars of 4 steps: A B A B C A, each of its own tokens.
  a, b, c = [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]
  tokens = np.array(a + b + a + b + c + a)
  match = model_inputs.track_inputs(tokens, np.arange(24) % 4, ('bar_position', 'repeat_match')
                                    ).repeat_match
  token, length, distance = match.T
  # Nothing repeats in the first two bars, nor in C.
  assert set(token[:8]) == set(token[16:20]) == {model_inputs.NO_LOOKBACK}
  assert not length[:8].any() and not distance[16:20].any()
  # The second A B repeats the first, 2 bars back, one more step at each step; each step is
  # told the token that follows its repeat, across the bar line and into the next bar.
  assert length[8:16].tolist() == list(range(1, 9)) and set(distance[8:16]) == {2}
  assert token[8:15].tolist() == (a + b)[1:] and token[15] == a[0]
  # The last A repeats both earlier ones: the nearer (3 bars back) is taken; after its last
  # step the track has ended (no token 3 bars before the next step).
  assert distance[20:].tolist() == [3] * 4 and length[20:].tolist() == [1, 2, 3, 4]
  assert token[20:23].tolist() == a[1:] and token[23] == model_inputs.NO_LOOKBACK


def test_tune_phases_count_the_bar_from_the_tunes_pickup():
  # A tune with a 4-step pickup in 4/4 that ends completing the pickup's bar (12 steps in its
  # last bar), read between its marks.
  steps = 4 + 16 + 12
  positions = ((12 + np.arange(steps)) % 16).astype(np.uint8)
  meter = encoding.Meter(positions, np.full(steps, 16, np.uint8), np.full(steps, 4, np.uint8))
  track = model_inputs.model_track(np.full(steps, 61, np.uint8), meter,
                                   ('bar_position', 'tune_phase'), tune_ends=True)
  # The start mark, then the tune's steps 1, 2, ... past it, back to 0 at each step at the
  # mark's position: the tune's last step (before the end mark's target) is one.
  assert track.tune_phase[:18].tolist() == list(range(16)) + [0, 1]
  assert track.tune_phase[-2] == 0 and track.bar_position[-2] == 11
  # The tune's own steps (evaluate's windows) keep the phases they have in the whole tune.
  own = model_inputs.own_steps(track, tune_ends=True)
  assert own.tokens.tolist() == [61] * steps
  assert own.tune_phase.tolist() == track.tune_phase[1:-1].tolist()
  # Without a pickup it is the bar position; after a meter with no such position, it stops.
  assert (model_inputs.tune_phases(np.arange(40) % 8) == np.arange(40) % 8).all()
  long = model_inputs.tune_phases(np.concatenate([[7], np.arange(80) % 4]))
  assert long[-1] == encoding.MAX_BAR_STEPS - 1


def test_the_cadence_tells_the_last_notes_degree_and_whether_the_tune_could_end_home():
  # In C major, 4/4 after a bar of rest: C E G C | D F B D | C (a whole bar), then a rest.
  notes = [60, 64, 67, 72, 62, 65, 71, 62]
  tokens = np.concatenate([np.zeros(16), np.repeat(np.array(notes) + 1, 4), np.full(16, 61),
                           np.zeros(4)]).astype(np.int64)
  positions = np.arange(len(tokens)) % 16
  cadence = model_inputs.track_inputs(tokens, positions, ('bar_position', 'cadence')).cadence
  assert set(cadence[:16]) == {model_inputs.NO_CADENCE}  # No note yet.
  # The whole bar of C, and the rest after it: the tonic (degree 0), started on a downbeat.
  assert set(cadence[48:]) == {2 * 0 + 1}
  # The B (degree 11) started on the third beat: in the second half of its bar.
  assert set(cadence[40:44]) == {2 * 11}
  # It is the whole-tune measure's question, asked after every step.
  meter = encoding.Meter(positions.astype(np.uint8), np.full(len(tokens), 16, np.uint8),
                         np.full(len(tokens), 4, np.uint8))
  home = tunes.home_after_each_step(tokens, meter)
  assert ((cadence == 1) == home).all() and home.any() and not home.all()
  # Read as a whole tune, between its marks: the start mark is no note.
  tune = model_inputs.model_track(tokens.astype(np.uint8), meter, ('bar_position', 'cadence'),
                                  tune_ends=True)
  assert (model_inputs.own_steps(tune, tune_ends=True).cadence == cadence).all()
  assert tune.cadence[0] == model_inputs.NO_CADENCE
  # A degree in the key: the same in another key.
  moved = np.where(tokens > 0, tokens + 3, 0)
  assert (model_inputs.track_inputs(moved, positions, ('bar_position', 'cadence')).cadence
          == cadence).all()


def test_the_pace_counts_the_notes_and_rests_begun_in_the_last_steps():
  # Four bars of quarter notes, then four of eighths: a song's pace, then a reel's.
  quarters = np.repeat(np.tile([61, 63], 8), 4)
  eighths = np.repeat(np.tile([65, 0], 16), 2)
  tokens = np.concatenate([quarters, eighths]).astype(np.int64)
  pace = model_inputs.track_inputs(tokens, np.arange(128) % 16, ('pace',)).pace
  steps = model_inputs.PACE_STEPS
  assert pace[0] == 0 and pace[3] == 0  # The first note begins nothing before it; still held.
  assert pace[steps - 1] == 15 // model_inputs.PACE_BUCKET  # 16 quarters: all but the first.
  assert pace[-1] == 32 // model_inputs.PACE_BUCKET  # 32 eighths and rests.
  assert (np.diff(pace[steps - 1:].astype(int)) >= 0).all()  # Faster as the eighths come in.
