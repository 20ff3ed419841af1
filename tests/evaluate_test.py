"""python -m midi_rnn_jax.evaluate on a model that learned one melody."""

import json
import os
import shutil

import jax
import numpy as np
import pytest
from flax import nnx

from conftest import ok, run_module, write_midi
from midi_rnn_jax.data import model_inputs, slicing
from midi_rnn_jax.evaluation import baselines, scoring
from midi_rnn_jax.model import training

TUNE = [60, 62, 64, 65, 67, 65, 64, 62, 67, 69, 71, 72, 71, 69, 67, 65]
OTHER = [48, 53, 50, 55, 52, 57, 54, 59, 56, 49, 51, 58, 47, 46, 45, 44]


def melody(pitches, repeats):
  return [(p, i * 120, (i + 1) * 120) for i, p in enumerate(pitches * repeats)]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  root = tmp_path_factory.mktemp('evaluate')
  for folder, pitches in (('same', TUNE), ('other', OTHER)):
    (root / folder).mkdir()
    for i in range(5):
      write_midi(root / folder / f'tune{i}.mid', [(melody(pitches, 12 + i), False)])
  ok(run_module('train', f'--data_dir={root / "same"}', '--experiment_dir=exp', '--rnn_size=32',
                '--window_size=8', '--num_epochs=6', '--learning_rate=0.01', '--dropout=0',
                '--batch_size=16', f'--cache_dir={root / "cache"}', cwd=root))
  return root


def evaluate(root, *args):
  return run_module('evaluate', '--experiment_dir=exp', f'--cache_dir={root / "cache"}', *args,
                    cwd=root)


def test_scores_are_high_on_the_learned_melody_and_low_on_another(trained):
  result = evaluate(trained, f'--data_dir={trained / "same"}')
  assert ok_stdout(result).splitlines()[1].startswith('lstm')
  # That folder holds the training files: the figures say so.
  assert 'warning: 4 of the 5 files scored are training files of exp' in result.stderr
  same = json.loads((trained / 'exp' / 'eval' / 'same.json').read_text())
  assert same['training_files_scored'] == 4
  assert same['lstm']['all']['accuracy'] > 0.95
  assert same['lstm']['all']['windows'] == sum(16 * (12 + i) - 8 for i in range(5))
  # Every step of this tune changes pitch: "change" steps are all the steps.
  assert same['lstm']['change']['windows'] == same['lstm']['all']['windows']
  # No step of it repeats, so "repeat previous" falls back on the most common pitch.
  assert same['repeat_previous']['repeat_probability'] == 0.0
  assert same['repeat_previous']['all']['accuracy'] < 0.5
  assert same['ngram']['all']['accuracy'] > 0.95 and same['ngram']['order'] >= 2
  ok_stdout(evaluate(trained, f'--data_dir={trained / "other"}'))
  other = json.loads((trained / 'exp' / 'eval' / 'other.json').read_text())
  assert other['training_files_scored'] == 0
  assert other['lstm']['all']['accuracy'] < 0.5
  assert other['lstm']['all']['nll_nats'] > same['lstm']['all']['nll_nats'] + 1.0


def test_without_data_dir_the_validation_files_are_scored(trained):
  ok_stdout(evaluate(trained))
  validation = json.loads((trained / 'exp' / 'eval' / 'validation.json').read_text())
  (held_out,) = json.loads((trained / 'exp' / 'split.json').read_text())['validation']
  repeats = 12 + int(held_out[-5])  # Files are named tune0.mid .. tune4.mid.
  assert validation['lstm']['all']['windows'] == 16 * repeats - 8
  figures = validation['lstm']['all']
  assert figures['nll_bits'] == pytest.approx(figures['nll_nats'] / 0.6931471805599453)


def ok_stdout(result):
  ok(result)
  return result.stdout


def test_report_compares_generated_with_training_and_spots_copying(trained):
  ok(run_module('sample', '--experiment_dir=exp', '--num_files=3', '--file_length=64',
                '--temperature=0', '--seed=0', f'--cache_dir={trained / "cache"}', cwd=trained))
  ok(run_module('report', '--experiment_dir=exp', f'--cache_dir={trained / "cache"}',
                cwd=trained))
  out = trained / 'exp' / 'report'
  report = json.loads((out / 'report.json').read_text())
  assert report['generated_files'] == 3 and report['reference_steps_mean'] == 64
  # A model that memorised one tune plays it back: long runs shared with training, a
  # 16-step loop, and the tune's own statistics.
  assert report['novelty']['longest_shared_run_mean'] >= 60
  assert report['degeneration']['share'] == 1.0
  assert {f['repeating_period'] for f in report['files'].values()} == {16}
  assert report['generated']['pitches_used'] == report['reference']['pitches_used'] == 8
  # The tune is one bar repeated: every bar after the first repeats it, in both.
  assert report['generated']['bar_repetition'] == report['reference']['bar_repetition'] == 1.0
  assert report['generated']['span_key_changes'] == 0.0
  markdown = (out / 'report.md').read_text()
  for name in ('01', '02', '03'):
    assert f'![{name}.mid]({name}.png)' in markdown
    assert (out / f'{name}.png').exists() and (out / f'{name}.wav').exists()


def test_report_reuses_what_sample_rendered_and_counts_steps_as_sample_wrote_them(trained):
  ok(run_module('sample', '--experiment_dir=exp', '--num_files=2', '--file_length=48',
                '--seed=3', '--render', '--save_dir=rendered', f'--cache_dir={trained / "cache"}',
                cwd=trained))
  os.mkfifo(trained / 'rendered' / '03.mid')  # Not a file: skipped, never read (it would block).
  stderr = ok(run_module('report', '--experiment_dir=exp', '--generated_dir=rendered',
                         f'--cache_dir={trained / "cache"}', cwd=trained))
  assert '2 reused from rendered, 0 rendered' in stderr
  out = trained / 'exp' / 'report'
  report = json.loads((out / 'report.json').read_text())
  assert [f['steps'] for f in report['files'].values()] == [48, 48]
  markdown = (out / 'report.md').read_text()
  assert '![01.mid](../../rendered/01.png)' in markdown


def test_whole_track_scoring_matches_window_scoring_where_the_contexts_agree():
  model = training.build_model(rnn_size=16, num_layers=2, dropout=0.0, seed=1,
                               bar_position=True, lookback=True, copy_lookback=True)
  for kernel in (model.position_kernel, model.lookback_kernel, model.repeat_kernel,
                 model.copy_kernel, model.copy_bias):
    kernel[...] = jax.random.normal(jax.random.key(0), kernel[...].shape)
  graphdef, params = nnx.split(model, nnx.Param)
  rng = np.random.default_rng(0)
  window = 6
  # Tracks one step longer than a window: the whole past of the one target is the window.
  short = [rng.integers(0, 129, window + 1).astype(np.uint8) for _ in range(5)]
  steps = [model_inputs.track_inputs(t, np.arange(len(t)) % 4, model.inputs) for t in short]
  contexts, targets = slicing.every_window(steps, window)
  by_window = scoring.lstm_scores(graphdef, params, contexts, targets)
  by_track = scoring.whole_track_scores(graphdef, params, steps, window)
  np.testing.assert_allclose(by_track[0], by_window[0], rtol=1e-5)
  np.testing.assert_array_equal(by_track[1], by_window[1])
  # Longer tracks of different lengths: the same targets, in the same order.
  tracks = [rng.integers(0, 129, n).astype(np.uint8) for n in (9, 40, 7, 130)]
  _, targets = baselines.windows_of(tracks, window)
  steps = [model_inputs.track_inputs(t, np.arange(len(t)) % 4, model.inputs) for t in tracks]
  probabilities, predictions, *_ = scoring.whole_track_scores(graphdef, params, steps, window)
  assert len(probabilities) == len(predictions) == len(targets) == sum(n - window for n in
                                                                       (9, 40, 7, 130))
  logits = model.every_step(model_inputs.map_arrays(lambda values: values[None, :-1],
                                                    steps[1]))[0]
  expected = jax.nn.softmax(logits)[np.arange(window - 1, 39), tracks[1][window:]]
  np.testing.assert_allclose(probabilities[9 - window:9 - window + 40 - window], expected,
                             rtol=1e-5)


def test_evaluate_scores_both_modes_on_identical_targets(trained):
  ok(run_module('train', f'--data_dir={trained / "same"}', '--experiment_dir=seq',
                '--mode=sequence', '--sequence_length=32', '--rnn_size=32', '--window_size=8',
                '--num_epochs=6', '--learning_rate=0.01', '--dropout=0', '--batch_size=4',
                f'--cache_dir={trained / "cache"}', cwd=trained))
  for name in ('exp', 'seq'):
    ok(run_module('evaluate', f'--experiment_dir={name}', f'--data_dir={trained / "other"}',
                  f'--cache_dir={trained / "cache"}', cwd=trained))
  window, sequence = (json.loads((trained / name / 'eval' / 'other.json').read_text())
                      for name in ('exp', 'seq'))
  assert (window['mode'], sequence['mode']) == ('window', 'sequence')
  assert 'lstm_whole_track' not in window
  for part in ('all', 'change'):
    assert (window['lstm'][part]['windows'] == sequence['lstm'][part]['windows']
            == sequence['lstm_whole_track'][part]['windows'] == window['ngram'][part]['windows'])
  assert window['ngram'] == sequence['ngram']  # Same training files, same targets.


def test_with_the_validation_files_gone_the_ngram_order_is_still_chosen(trained, tmp_path):
  moved = tmp_path / 'exp'
  shutil.copytree(trained / 'exp', moved)
  split = json.loads((moved / 'split.json').read_text())
  split['validation'] = [str(tmp_path / 'deleted.mid')]
  (moved / 'split.json').write_text(json.dumps(split))
  result = run_module('evaluate', f'--experiment_dir={moved}', f'--data_dir={trained / "other"}',
                      f'--cache_dir={trained / "cache"}', cwd=tmp_path)
  assert 'n-gram order is chosen on every fifth training track' in ok(result)
  scores = json.loads((moved / 'eval' / 'other.json').read_text(), parse_constant=float)
  assert all(np.isfinite(v) for v in scores['ngram']['validation_nll_by_order'].values())
  assert np.isfinite(scores['ngram']['all']['nll_nats'])
