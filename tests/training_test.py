"""The model's maths, the optimizers, the jitted steps and the plateau rule."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from midi_rnn_jax.data import dataset, encoding, input_pipeline, model_inputs, parse_cache, slicing
from midi_rnn_jax.generate import samplers
from midi_rnn_jax.model import lstm, modes, training
from midi_rnn_jax.data.input_pipeline import Batch
from midi_rnn_jax.data.model_inputs import StepInputs


@pytest.mark.parametrize('num_layers', [1, 2])
def test_model_matches_a_plain_one_hot_lstm(num_layers):
  model = training.build_model(rnn_size=12, num_layers=num_layers, dropout=0.5, seed=1)
  tokens = np.random.default_rng(0).integers(0, encoding.NUM_CLASSES, (5, 9))
  params = nnx.to_pure_dict(nnx.state(model, nnx.Param))
  np.testing.assert_allclose(model(StepInputs(jnp.asarray(tokens))),
                             plain_lstm_logits(params, tokens, num_layers), rtol=1e-5, atol=1e-5)


def test_keras_style_initialisation():
  layer = training.build_model(rnn_size=8, num_layers=1, dropout=0.0, seed=0).layers[0]
  bias = np.asarray(layer.bias[...])
  assert bias[8:16].tolist() == [1.0] * 8 and not bias[:8].any() and not bias[16:].any()
  recurrent = np.asarray(layer.recurrent_kernel[...])
  np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(8), atol=1e-5)  # Orthogonal rows.


def test_dropout_is_off_without_a_key_and_on_with_one():
  model = training.build_model(rnn_size=16, num_layers=2, dropout=0.5, seed=0)
  tokens = jnp.ones((4, 6), jnp.int32)
  np.testing.assert_array_equal(model(StepInputs(tokens)), model(StepInputs(tokens)))
  with_dropout = model(StepInputs(tokens), dropout_rng=jax.random.key(0))
  assert not np.allclose(with_dropout, model(StepInputs(tokens)))
  np.testing.assert_array_equal(with_dropout, model(StepInputs(tokens), dropout_rng=jax.random.key(0)))


def test_dropout_scales_what_it_keeps_so_the_mean_is_kept():
  x = jnp.full((200, 500), 2.0)
  dropped = np.asarray(lstm.dropout(x, 0.3, jax.random.key(1)))
  np.testing.assert_allclose(np.unique(dropped), [0.0, 2.0 / 0.7], rtol=1e-6)  # Inverted.
  assert abs(dropped.mean() - 2.0) < 0.02 and abs(np.mean(dropped == 0) - 0.3) < 0.01
  np.testing.assert_array_equal(lstm.dropout(x, 0.3, None), x)


def test_the_copy_path_raises_the_logit_of_each_looked_back_token():
  model = training.build_model(rnn_size=8, num_layers=1, dropout=0.0, seed=0,
                               bar_position=True, lookback=True, copy_lookback=True)
  model.copy_bias[...] = jnp.array([1.0, 2.0, 3.0, 4.0])
  hidden = jax.random.normal(jax.random.key(0), (1, 8))
  # Looking back 1 and 2 bars finds 60, 4 bars nothing, 8 bars 5; the flags do not count.
  lookbacks = jnp.array([[60, 60, model_inputs.NO_LOOKBACK, 5, 1, 1, 0, 1]])
  expected = np.zeros((1, encoding.NUM_CLASSES))
  expected[0, 60], expected[0, 5] = 1.0 + 2.0, 4.0
  np.testing.assert_allclose(model.output(hidden, StepInputs(None, lookback=lookbacks))
                             - model.head(hidden), expected,
                             atol=1e-6)
  # Experiments trained before the copy path existed have no copy_lookback in their config:
  # they restore into a model without it.
  config = dict(rnn_size=8, num_layers=1, dropout=0.0, bar_position=True, lookback=True)
  _, params = training.model_from_config(config)
  assert 'copy_kernel' not in nnx.to_pure_dict(params)
  _, params = training.model_from_config({**config, 'copy_lookback': True})
  assert nnx.to_pure_dict(params)['copy_kernel'].shape == (8, len(model_inputs.LOOKBACK_BARS))


def test_the_copy_path_copies_the_extra_lookbacks_and_the_repeat_match_too():
  model = training.build_model(rnn_size=8, num_layers=1, dropout=0.0, seed=0, bar_position=True,
                               lookback=True, extra_lookback=True, repeat_match=True,
                               copy_lookback=True)
  model.copy_bias[...] = jnp.arange(1.0, 10.0)
  hidden = jax.random.normal(jax.random.key(0), (1, 8))
  none = model_inputs.NO_LOOKBACK
  # 1, 2, 4 and 8 bars back: 60, nothing, nothing, nothing; 3, 6, 12, 16: 62, 60, nothing, 7;
  # the repeat in progress (5 steps of the bar 3 back) goes on with 62.
  read = StepInputs(None, lookback=jnp.array([[60, none, none, none, 1, 0, 0, 0]]),
                    extra_lookback=jnp.array([[62, 60, none, 7, 0, 1, 1, 0]]),
                    repeat_match=jnp.array([[62, 5, 3]]))
  expected = np.zeros((1, encoding.NUM_CLASSES))
  expected[0, 60], expected[0, 62], expected[0, 7] = 1.0 + 6.0, 5.0 + 9.0, 8.0
  np.testing.assert_allclose(model.output(hidden, read) - model.head(hidden), expected, atol=1e-6)


def train_on(melody: np.ndarray, num_steps: int, window_size: int = 12):
  model = training.build_model(rnn_size=64, num_layers=1, dropout=0.0, seed=0)
  tx = training.make_optimizer('adam', 0.01, grad_clip=5.0)
  graphdef, state = training.init_state(model, tx)
  steps = training.make_steps(graphdef, tx)
  starts = slicing.window_starts([len(melody)], window_size)
  rng, key = np.random.default_rng(0), jax.random.key(0)
  losses = []
  for _ in range(num_steps):
    inputs, targets = slicing.windows(StepInputs(melody), rng.choice(starts, 32), window_size)
    state, metrics = steps.train_step(state, Batch(inputs, targets, np.ones(32, np.float32)), key)
    losses.append(float(metrics.loss / metrics.count))
  inputs, targets = slicing.windows(StepInputs(melody), starts, window_size)
  return steps, state, losses, Batch(inputs, targets, np.ones(len(targets), np.float32))


def test_a_repeating_melody_is_learned():
  tune = np.array([61, 61, 0, 63, 65, 65, 65, 0, 66, 68, 63, 61, 70, 0], np.uint8)
  steps, state, losses, every_window = train_on(np.tile(tune, 20), num_steps=300)
  assert np.mean(losses[-20:]) < 0.2 * np.mean(losses[:20])
  metrics = steps.eval_step(state.params, every_window).means()
  assert metrics['accuracy'] > 0.95


def test_padding_weights_do_not_change_the_metrics():
  model = training.build_model(rnn_size=8, num_layers=1, dropout=0.0, seed=0)
  tx = training.make_optimizer('sgd', 0.1, grad_clip=1.0)
  graphdef, state = training.init_state(model, tx)
  steps = training.make_steps(graphdef, tx)
  rng = np.random.default_rng(0)
  inputs = rng.integers(0, 129, (6, 5)).astype(np.uint8)
  targets = rng.integers(0, 129, 6).astype(np.uint8)
  real = steps.eval_step(state.params,
                         Batch(StepInputs(inputs[:4]), targets[:4], np.ones(4, np.float32)))
  padded = steps.eval_step(state.params, Batch(StepInputs(inputs), targets,
                                               np.array([1, 1, 1, 1, 0, 0], np.float32)))
  np.testing.assert_allclose(padded.means()['loss'], real.means()['loss'], rtol=1e-6)
  assert float(padded.count) == 4


@pytest.mark.parametrize('name', sorted(training.OPTIMIZERS))
def test_every_optimizer_lowers_the_loss_with_its_default_rate(name):
  model = training.build_model(rnn_size=16, num_layers=1, dropout=0.0, seed=0)
  tx = training.make_optimizer(name, training.default_learning_rate(name), grad_clip=5.0)
  graphdef, state = training.init_state(model, tx)
  steps = training.make_steps(graphdef, tx)
  inputs = np.tile(np.arange(60, 68, dtype=np.uint8), (16, 1))
  batch = Batch(StepInputs(inputs), np.full(16, 70, np.uint8), np.ones(16, np.float32))
  before = steps.eval_step(state.params, batch).means()['loss']
  for _ in range(5):
    state, _ = steps.train_step(state, batch, jax.random.key(0))
  assert steps.eval_step(state.params, batch).means()['loss'] < before
  assert training.learning_rate(state) == pytest.approx(training.default_learning_rate(name))


def test_gradients_are_clipped_by_global_norm():
  tx = training.make_optimizer('sgd', 1.0, grad_clip=0.5)
  params = {'w': jnp.zeros(4)}
  updates, _ = tx.update({'w': jnp.array([3.0, 4.0, 0.0, 0.0])}, tx.init(params), params)
  assert float(optax.tree.norm(updates)) == pytest.approx(0.5)


def test_grad_clip_zero_means_no_clipping_as_in_keras():
  tx = training.make_optimizer('sgd', 1.0, grad_clip=0.0)
  params = {'w': jnp.zeros(4)}
  updates, _ = tx.update({'w': jnp.array([3.0, 4.0, 0.0, 0.0])}, tx.init(params), params)
  np.testing.assert_allclose(updates['w'], [-3.0, -4.0, 0.0, 0.0])


def test_learning_rate_can_be_halved_between_epochs():
  model = training.build_model(rnn_size=4, num_layers=1, dropout=0.0, seed=0)
  _, state = training.init_state(model, training.make_optimizer('adam', 0.002, 5.0))
  assert training.learning_rate(training.with_learning_rate(state, 0.001)) == pytest.approx(0.001)


def test_plateau_halves_after_three_epochs_without_improvement():
  plateau, decisions = training.Plateau(), []
  for loss in [2.0, 1.5, 1.6, 1.5, 1.55, 1.4, 1.5, 1.5, 1.5, 1.5]:
    plateau, reduce = plateau.update(loss)
    decisions.append(reduce)
  assert decisions == [False, False, False, False, True, False, False, False, True, False]
  assert plateau.best == 1.4


def plain_lstm_logits(params, tokens, num_layers):
  """The window model written plainly: the last step of ``plain_lstm_every_step``."""
  return plain_lstm_every_step(params, tokens, num_layers)[:, -1]


def plain_lstm_every_step(params, tokens, num_layers):
  """The model written plainly: one-hot input matmul, a Python loop over time, no dropout;
  (batch, time, 129) logits after every step."""
  x = jax.nn.one_hot(tokens, encoding.NUM_CLASSES)
  for layer in range(num_layers):
    p = params['layers'][layer]
    kernel, recurrent, bias = p['input_kernel'], p['recurrent_kernel'], p['bias']
    size = recurrent.shape[0]
    hidden = cell = jnp.zeros((x.shape[0], size))
    outputs = []
    for t in range(x.shape[1]):
      gates = x[:, t] @ kernel + hidden @ recurrent + bias
      i, f, g, o = (gates[:, k * size:(k + 1) * size] for k in range(4))
      cell = jax.nn.sigmoid(f) * cell + jax.nn.sigmoid(i) * jnp.tanh(g)
      hidden = jax.nn.sigmoid(o) * jnp.tanh(cell)
      outputs.append(hidden)
    x = jnp.stack(outputs, axis=1)
  return x @ params['head']['kernel'] + params['head']['bias']


def plain_lstm_loss(params, tokens, targets, num_layers):
  logits = plain_lstm_logits(params, tokens, num_layers)
  return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()


@pytest.mark.parametrize('num_layers', [1, 2])
def test_fast_paths_match_the_plain_reference_in_loss_and_gradients(num_layers):
  model = training.build_model(rnn_size=16, num_layers=num_layers, dropout=0.0, seed=2)
  graphdef, params = nnx.split(model, nnx.Param)
  rng = np.random.default_rng(3)
  tokens = rng.integers(0, 129, (8, 12))
  targets = rng.integers(0, 129, 8)

  def fast_loss(p):
    logits = nnx.merge(graphdef, p)(StepInputs(jnp.asarray(tokens)))
    return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()

  loss, grads = jax.value_and_grad(fast_loss)(params)
  pure = nnx.to_pure_dict(params)
  plain, plain_grads = jax.value_and_grad(plain_lstm_loss)(pure, tokens, targets, num_layers)
  assert float(loss) == pytest.approx(float(plain), abs=1e-5)
  fast_grads = jax.tree.leaves(nnx.to_pure_dict(grads))
  for fast, slow in zip(fast_grads, jax.tree.leaves(plain_grads), strict=True):
    np.testing.assert_allclose(fast, slow, atol=1e-5)


@pytest.mark.parametrize('restarts', [False, True])
@pytest.mark.parametrize('unroll', [1, 3])
def test_hand_written_backward_pass_matches_automatic_differentiation(unroll, restarts):
  """Gradient arriving at every time step (as in a lower layer), larger than the model tests;
  unrolled scans (3 does not divide the 7 steps) change nothing; nor do states restarting
  from zero at random steps (packed rows)."""
  rng = np.random.default_rng(4)
  projected = jnp.asarray(rng.normal(size=(7, 5, 4 * 6)), jnp.float32)
  recurrent = jnp.asarray(rng.normal(size=(6, 4 * 6)) * 0.5, jnp.float32)
  d_hidden = jnp.asarray(rng.normal(size=(7, 5, 6)), jnp.float32)
  keeps = jnp.asarray(rng.random((7, 5, 1)) > 0.3, jnp.float32) if restarts else None
  _, by_hand = jax.vjp(lambda p, r: lstm.lstm_sequence(p, r, keeps, unroll), projected,
                       recurrent)
  _, automatic = jax.vjp(lambda p, r: lstm._lstm_forward(p, r, keeps)[0], projected, recurrent)
  for fast, slow in zip(by_hand(d_hidden), automatic(d_hidden), strict=True):
    np.testing.assert_allclose(fast, slow, atol=1e-5)


def test_one_tanh_pass_equals_separate_gate_activations():
  gates = jnp.linspace(-12.0, 12.0, 4 * 50).reshape(2, 4 * 25)
  i, f, g, o = jnp.split(gates, 4, axis=-1)
  separate = jnp.concatenate([jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)], -1)
  np.testing.assert_allclose(lstm.activate(gates), separate, atol=1e-6)


def test_scanned_steps_equal_single_steps():
  model = training.build_model(rnn_size=16, num_layers=2, dropout=0.2, seed=0)
  tx = training.make_optimizer('adam', 0.01, grad_clip=1.0)
  graphdef, first = training.init_state(model, tx)
  _, second = training.init_state(training.build_model(rnn_size=16, num_layers=2, dropout=0.2,
                                                       seed=0), tx)
  steps = training.make_steps(graphdef, tx)
  rng, key = np.random.default_rng(0), jax.random.key(5)
  batches = [Batch(StepInputs(rng.integers(0, 129, (8, 6)).astype(np.uint8)),
                   rng.integers(0, 129, 8).astype(np.uint8), np.ones(8, np.float32))
             for _ in range(4)]
  single = training.Metrics.zero()
  for batch in batches:
    first, metrics = steps.train_step(first, batch, key)
    single = single + metrics
  stacked = input_pipeline.stack(batches)
  second, scanned = steps.train_steps(second, stacked, key)
  assert int(second.step) == int(first.step) == 4
  np.testing.assert_allclose(np.array(scanned), np.array(single), rtol=1e-5)
  for a, b in zip(jax.tree.leaves(first.params), jax.tree.leaves(second.params)):
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize('num_layers', [1, 2])
def test_the_sequence_loss_and_gradients_equal_a_plain_step_by_step_lstm(num_layers):
  model = training.build_model(rnn_size=16, num_layers=num_layers, dropout=0.0, seed=2)
  graphdef, params = nnx.split(model, nnx.Param)
  rng = np.random.default_rng(3)
  tokens = rng.integers(0, 129, (6, 10))
  targets = rng.integers(0, 129, (6, 10))
  weights = (np.arange(10) < rng.integers(1, 11, 6)[:, None]).astype(np.float32)  # Padding.
  batch = Batch(StepInputs(tokens.astype(np.uint8)), targets.astype(np.uint8), weights)

  def sequence_loss(p):
    logits = lstm.MelodyLSTM.every_step(nnx.merge(graphdef, p), StepInputs(jnp.asarray(tokens)))
    metrics = training.batch_metrics(logits, batch)
    return metrics.loss / metrics.count

  def plain_loss(p):
    losses = optax.softmax_cross_entropy_with_integer_labels(
        plain_lstm_every_step(p, tokens, num_layers), targets)
    return (losses * weights).sum() / weights.sum()

  loss, grads = jax.value_and_grad(sequence_loss)(params)
  plain, plain_grads = jax.value_and_grad(plain_loss)(nnx.to_pure_dict(params))
  assert float(loss) == pytest.approx(float(plain), abs=1e-5)
  for fast, slow in zip(jax.tree.leaves(nnx.to_pure_dict(grads)), jax.tree.leaves(plain_grads),
                        strict=True):
    np.testing.assert_allclose(fast, slow, atol=1e-5)
  # The window model's logits are the last step's of the same network.
  np.testing.assert_allclose(model(StepInputs(jnp.asarray(tokens))), model.every_step(StepInputs(jnp.asarray(tokens)))[:, -1],
                             atol=1e-6)


def test_the_sequence_mode_learns_a_repeating_melody():
  model = training.build_model(rnn_size=32, num_layers=1, dropout=0.0, seed=0)
  tx = training.make_optimizer('adam', 0.01, grad_clip=5.0)
  graphdef, state = training.init_state(model, tx)
  steps = training.make_steps(graphdef, tx, training.every_step_logits)
  tune = np.tile(np.array([61, 63, 65, 66, 68, 66, 65, 63], np.uint8), 40)
  batch = Batch(*slicing.packed_rows(StepInputs(tune), [len(tune)], 32, np.array([0]), 5))
  first = steps.eval_step(state.params, batch).means()
  stacked = input_pipeline.stack([batch] * training.STEPS_PER_CALL)
  for _ in range(15):
    state, _ = steps.train_steps(state, stacked, jax.random.key(0))
  learned = steps.eval_step(state.params, batch).means()
  # Only a chunk's first step or two are ambiguous (63, 65 and 66 each have two successors).
  assert first['loss'] > 4.0 and learned['loss'] < 0.15 and learned['accuracy'] > 0.95


def test_a_sequence_model_trained_on_an_eight_bar_tune_plays_it_back():
  """Bar A comes back three times, followed by a different bar each time: which one comes
  next depends on what came before A, so greedy playback needs the model's memory."""
  bars = {'A': [60] * 4 + [62] * 4 + [64] * 4 + [65] * 4, 'B': [67] * 8 + [65] * 4 + [64] * 4,
          'C': [62] * 8 + [60] * 8, 'D': [67] * 4 + [69] * 4 + [71] * 4 + [72] * 4,
          'E': [72] * 2 + [71] * 2 + [69] * 12, 'F': [65, 64] * 4 + [62] * 8}
  tune = np.array([p + 1 for bar in 'ABACADEF' for p in bars[bar]], np.uint8)
  track = np.tile(tune, 6)
  model = training.build_model(rnn_size=64, num_layers=1, dropout=0.0, seed=0)
  tx = training.make_optimizer('adam', 0.01, grad_clip=5.0)
  graphdef, state = training.init_state(model, tx)
  steps = training.make_steps(graphdef, tx, training.every_step_logits)
  rng = np.random.default_rng(0)
  for _ in range(50):
    # Row boundaries at a new random place each step, as an epoch draws them.
    chunks = [Batch(*slicing.packed_rows(StepInputs(track), [len(track)], 128, np.array([0]),
                                         rng.integers(0, 128)))
              for _ in range(training.STEPS_PER_CALL)]
    size = min(len(c.targets) for c in chunks)
    stacked = input_pipeline.stack([model_inputs.map_arrays(lambda field: field[:size], c)
                                    for c in chunks])
    state, _ = steps.train_steps(state, stacked, jax.random.key(0))
  sample = samplers.make_sequence_sampler(graphdef, 3 * len(tune), temperature=0.0)
  played = np.asarray(sample(state.params, tune[None, :24], jax.random.key(0)).tokens)[0]
  np.testing.assert_array_equal(played, np.tile(tune, 4)[24:24 + 3 * len(tune)])


def validation_loss_after_one_epoch(train_records, val_records, max_files_in_ram: int) -> float:
  config = dict(window_size=20, batch_size=32, max_files_in_ram=max_files_in_ram,
                mode='window', transpose=0)
  tx = training.make_optimizer('adam', 0.003, 5.0)
  graphdef, state = training.init_state(training.build_model(32, 1, 0.0, seed=0), tx)
  steps = training.make_steps(graphdef, tx)
  mode = modes.of(config)
  for batch in mode.batches(train_records, config, np.random.default_rng(0)):
    state, _ = steps.train_step(state, batch, jax.random.key(0))
  metrics = training.Metrics.zero()
  for batch in mode.batches(val_records, config, rng=None):
    metrics = metrics + steps.eval_step(state.params, batch)
  return metrics.means()['loss']


def test_one_file_in_ram_trains_about_as_well_as_all_of_them(lakh_dir, tmp_path, monkeypatch):
  """Files are read a group at a time; the shuffle buffer still mixes windows of many files
  into each batch, so --max_files_in_ram trades memory, not quality."""
  paths = [str(p) for p in sorted(lakh_dir.glob('*.mid'))[:40]]
  records = [r for r in parse_cache.read_records(paths, str(tmp_path), 1, print)
             if r.usable(20).any()]
  train_records, val_records = dataset.split_files(records, str(lakh_dir), seed=0)
  all_in_ram = validation_loss_after_one_epoch(train_records, val_records, len(records))
  one_at_a_time = validation_loss_after_one_epoch(train_records, val_records, 1)
  assert one_at_a_time == pytest.approx(all_in_ram, rel=0.05)
  monkeypatch.setattr(input_pipeline, 'SHUFFLE_BUFFER', 0)  # Each batch from one file: far worse.
  assert validation_loss_after_one_epoch(train_records, val_records, 1) > 1.1 * all_in_ram


@pytest.mark.parametrize('num_layers', [1, 2])
def test_tracks_packed_into_one_row_train_as_they_would_apart(num_layers):
  """A row holding two tracks, the state restarting where the second starts: the same logits
  and the same gradients (through the hand-written backward pass) as the two rows apart."""
  model = training.build_model(rnn_size=16, num_layers=num_layers, dropout=0.0, seed=5)
  graphdef, params = nnx.split(model, nnx.Param)
  rng = np.random.default_rng(6)
  first, second = rng.integers(0, 129, 5), rng.integers(0, 129, 7)
  row = np.concatenate([first, second])[None]
  starts = np.zeros_like(row)
  starts[0, len(first)] = 1

  def loss(p, tokens, starts=None):
    logits = nnx.merge(graphdef, p).every_step(StepInputs(jnp.asarray(tokens)), starts=starts)
    return jnp.sum(jax.nn.log_softmax(logits)[..., 7]), logits

  (packed_loss, packed), packed_grads = jax.value_and_grad(loss, has_aux=True)(params, row, starts)
  apart = [jax.value_and_grad(loss, has_aux=True)(params, t[None]) for t in (first, second)]
  np.testing.assert_allclose(packed[0], np.concatenate([a[0][1][0] for a in apart]), atol=1e-5)
  np.testing.assert_allclose(packed_loss, apart[0][0][0] + apart[1][0][0], rtol=1e-5)
  for packed_leaf, *apart_leaves in zip(jax.tree.leaves(packed_grads),
                                        *(jax.tree.leaves(a[1]) for a in apart)):
    np.testing.assert_allclose(packed_leaf, sum(apart_leaves), atol=1e-5)
  # Without the restart the second track would read the first one's state.
  unpacked = loss(params, row)[1]
  assert not np.allclose(unpacked[0, len(first):], packed[0, len(first):], atol=1e-3)


def test_the_cosine_schedule_starts_at_the_rate_and_ends_near_zero():
  rates = [training.cosine_rate(0.002, epoch, 10) for epoch in range(1, 11)]
  assert rates[0] == 0.002 and all(a > b for a, b in zip(rates, rates[1:]))
  assert rates[-1] < 0.03 * 0.002 and rates[4] == pytest.approx(0.001 * (1 + np.cos(0.4 * np.pi)))

