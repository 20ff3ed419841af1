"""The next-step LSTM: ``num_layers`` LSTMs of ``rnn_size``, dropout after each, Dense(129)
(130 with tune ends).

Written as its own NNX module (not ``nnx.RNN``) for what the original had and speed needs:
Keras-style initialisation (Glorot-uniform input kernel, orthogonal recurrent kernel,
forget-gate bias 1); the first layer's one-hot input done as a row lookup of the input
kernel (identical maths, no 129-wide matmul); each layer's input projection for all steps
as one matmul before the time scan; all four gate activations as one tanh pass; and a
hand-written backward pass for the time scan (``lstm_sequence``). Automatic differentiation
of the scan gives the same numbers with dozens of small operations per time step; by hand
each step is one matmul and a few elementwise passes. Inside, layers run time-major.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from midi_rnn_jax.data import bar_copies, model_inputs
from midi_rnn_jax.data.encoding import NUM_CLASSES
from midi_rnn_jax.data.model_inputs import EXTRA_LOOKBACK_BARS, LOOKBACK_BARS, StepInputs


def _gate_of_column(hidden_size: int) -> jax.Array:
  """(4H,) which gate each pre-activation column feeds: 0 input, 1 forget, 2 cell, 3 output."""
  return jnp.arange(4 * hidden_size) // hidden_size


def _gate_constants(hidden_size: int) -> tuple[jax.Array, jax.Array]:
  """Per-column scale and offset that turn one tanh into the four gate activations:
  sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5 for i, f, o and plain tanh for g."""
  is_cell = _gate_of_column(hidden_size) == 2
  return jnp.where(is_cell, 1.0, 0.5), jnp.where(is_cell, 0.0, 0.5)


def activate(gates: jax.Array) -> jax.Array:
  """Pre-activations (..., 4H), gates ordered (input, forget, cell, output) -> activations.

  One elementwise pass over all four gates: on a CPU it is much faster than slicing out
  each gate for its own sigmoid or tanh."""
  scale, offset = _gate_constants(gates.shape[-1] // 4)
  return jnp.tanh(gates * scale) * scale + offset


def cell_update(acts: jax.Array, cell: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Gate activations and the previous cell -> (cell, hidden)."""
  i, f, g, o = jnp.split(acts, 4, axis=-1)
  cell = f * cell + i * g
  return cell, o * jnp.tanh(cell)


def _lstm_forward(projected: jax.Array, recurrent_kernel: jax.Array, keeps: jax.Array | None,
                  unroll: int = 1):
  """The scan itself; returns the hidden states and what the backward pass needs."""
  zeros = jnp.zeros(projected.shape[1:-1] + recurrent_kernel.shape[:1], projected.dtype)

  def step(carry, inputs):
    cell, hidden = carry
    projected_t, keep_t = inputs
    if keep_t is not None:  # 0 where a new track starts: it starts from a zero state.
      cell, hidden = cell * keep_t, hidden * keep_t
    acts = activate(projected_t + hidden @ recurrent_kernel)
    cell, hidden = cell_update(acts, cell)
    return (cell, hidden), (hidden, acts, cell)

  _, (hidden, acts, cells) = jax.lax.scan(step, (zeros, zeros), (projected, keeps),
                                          unroll=unroll)
  return hidden, (recurrent_kernel, keeps, hidden, acts, cells)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def lstm_sequence(projected: jax.Array, recurrent_kernel: jax.Array, keeps: jax.Array | None,
                  unroll: int = 1) -> jax.Array:
  """(time, batch, 4H) input projections -> (time, batch, H) hidden states, from a zero state.
  ``keeps`` (time, batch, 1): 0 where the state restarts from zero (a new track in a packed
  row), else 1; None: never. ``unroll``: time steps per iteration of the scans (the same
  maths)."""
  return _lstm_forward(projected, recurrent_kernel, keeps, unroll)[0]


def _lstm_backward(unroll: int, residuals, d_hidden: jax.Array):
  """Back-propagation through time by hand. Everything that does not depend on the gradient
  flowing back through time is computed for all steps at once, before the scan, so each
  step is one small elementwise pass and one (batch, 4H) x (4H, H) matmul; the recurrent
  kernel's gradient is one matmul over all steps afterwards. Where the state restarts, nothing
  flows back past the restart."""
  recurrent_kernel, keeps, hidden, acts, cells = residuals
  scale, offset = _gate_constants(recurrent_kernel.shape[0])
  zeros = jnp.zeros_like(d_hidden[:1])
  i, f, g, o = jnp.split(acts, 4, axis=-1)
  tanh_cells = jnp.tanh(cells)
  next_forget = jnp.concatenate([f[1:], zeros])
  # The state each step read: the previous step's, or zeros where it restarted.
  previous_cells, previous_hidden = jnp.concatenate([zeros, cells[:-1]]), hidden[:-1]
  if keeps is not None:
    next_forget = next_forget * jnp.concatenate([keeps[1:], jnp.zeros_like(keeps[:1])])
    previous_cells, previous_hidden = previous_cells * keeps, previous_hidden * keeps[1:]
  cell_per_hidden = o * (1 - tanh_cells * tanh_cells)
  # d(scale * tanh(scale * x) + offset)/dx is a * (1 - a) for the sigmoids, 1 - a^2 for the
  # tanh; times what each activation multiplies in the forward pass.
  gates_per_state = (jnp.concatenate([g, previous_cells, i, tanh_cells], axis=-1)
                     * (scale * scale - (acts - offset) ** 2))

  def step(carry, inputs):
    d_hidden_later, d_cell_later = carry
    d_hidden_t, next_forget_t, cell_per_hidden_t, gates_per_state_t, keep_t = inputs
    d_hidden_t = d_hidden_t + d_hidden_later
    d_cell = d_cell_later * next_forget_t + d_hidden_t * cell_per_hidden_t
    d_gates = jnp.concatenate([d_cell, d_cell, d_cell, d_hidden_t], axis=-1) * gates_per_state_t
    d_back = d_gates @ recurrent_kernel.T
    return (d_back if keep_t is None else d_back * keep_t, d_cell), d_gates

  _, d_gates = jax.lax.scan(step, (zeros[0], zeros[0]),
                            (d_hidden, next_forget, cell_per_hidden, gates_per_state, keeps),
                            reverse=True, unroll=unroll)
  # The first step starts from a zero hidden state, so it adds nothing to the kernel's gradient.
  d_recurrent = jnp.einsum('tbh,tbg->hg', previous_hidden, d_gates[1:])
  return d_gates, d_recurrent, None if keeps is None else jnp.zeros_like(keeps)


lstm_sequence.defvjp(_lstm_forward, _lstm_backward)


class LSTMLayer(nnx.Module):
  """One LSTM layer; gates are ordered (input, forget, cell, output), as in Keras."""

  def __init__(self, in_features: int, hidden_size: int, *, rngs: nnx.Rngs):
    self.hidden_size = hidden_size
    self.input_kernel = nnx.Param(
        nnx.initializers.glorot_uniform()(rngs.params(), (in_features, 4 * hidden_size)))
    self.recurrent_kernel = nnx.Param(
        nnx.initializers.orthogonal()(rngs.params(), (hidden_size, 4 * hidden_size)))
    self.bias = nnx.Param((_gate_of_column(hidden_size) == 1).astype(jnp.float32))

  def project_tokens(self, tokens: jax.Array) -> jax.Array:
    """one_hot(tokens) @ input_kernel, as a row gather."""
    return jnp.take(self.input_kernel[...], tokens, axis=0) + self.bias[...]

  def project(self, inputs: jax.Array) -> jax.Array:
    return inputs @ self.input_kernel[...] + self.bias[...]

  def step(self, projected_t: jax.Array, cell: jax.Array, hidden: jax.Array
           ) -> tuple[jax.Array, jax.Array]:
    """One time step: input projection (..., 4H) and state (..., H) -> new (cell, hidden)."""
    return cell_update(activate(projected_t + hidden @ self.recurrent_kernel[...]), cell)

  def scan(self, projected: jax.Array, keeps: jax.Array | None = None, unroll: int = 1
           ) -> jax.Array:
    """(time, batch, 4H) input projections -> (time, batch, H) hidden states, from a zero state
    (and from zero again where ``keeps`` is 0: ``lstm_sequence``)."""
    return lstm_sequence(projected, self.recurrent_kernel[...], keeps, unroll)


# Time steps per scan iteration over the sequence mode's chunks: fewer loop iterations pay
# where each step is small (a 64-unit layer trained 11-25% faster with 8 here; 256 units
# neither gained nor lost). The window mode keeps 1: its results stay bit for bit as they were.
SEQUENCE_UNROLL = 8


def dropout(x: jax.Array, rate: float, rng: jax.Array | None) -> jax.Array:
  """Inverted dropout; identity when ``rng`` is None (evaluation and sampling)."""
  if rng is None or rate == 0.0:
    return x
  keep = jax.random.bernoulli(rng, 1.0 - rate, x.shape)
  return jnp.where(keep, x / (1.0 - rate), 0.0)


# The inputs whose leading columns are tokens the copy path (copy_lookback) can copy, and how
# many: one weight each in the copy kernel, in this order. lookback is always among them (the
# copy path needs it).
COPIED = (('lookback', len(LOOKBACK_BARS)), ('extra_lookback', len(EXTRA_LOOKBACK_BARS)),
          ('repeat_match', 1))


# The model's options, each a boolean flag of train and a key of an experiment's config: the
# per-step inputs (model_inputs.INPUTS), the copy path, the tune-end class and the whole-bar copy
# decision (data.bar_copies).
OPTIONS = (*model_inputs.NAMES, 'copy_lookback', 'tune_ends', 'copy_bars', 'form_decisions',
           'form_ends')


class MelodyLSTM(nnx.Module):
  """StepInputs -> logits over the 129 classes of the next step: after the last step of a
  window (``__call__``, the original's model) or after every step (``every_step``).

  ``options`` (OPTIONS, all off by default): each input of model_inputs.INPUTS the model reads,
  ``copy_lookback``, ``tune_ends`` (a 130th class, model_inputs.TUNE_END, read and
  predicted) and ``copy_bars`` (a head that decides, at each bar line, whether the bar is new or
  a copy: ``copy_logits``)."""

  def __init__(self, *, rnn_size: int, num_layers: int, dropout: float, rngs: nnx.Rngs,
               **options: bool):
    unknown = set(options) - set(OPTIONS)
    if unknown:
      raise TypeError(f'unknown model options {sorted(unknown)}')
    self.dropout_rate = dropout
    self.num_classes = model_inputs.num_classes(options.get('tune_ends', False))
    sizes = [self.num_classes] + [rnn_size] * num_layers
    self.layers = nnx.List([LSTMLayer(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])])
    self.head = nnx.Linear(rnn_size, self.num_classes, rngs=rngs)
    # Each input is one more one-hot input of the first layer per column (a row lookup of its
    # kernel, as the token's). Zeros at first: the untrained model ignores it.
    self.inputs = tuple(i.name for i in model_inputs.INPUTS if options.get(i.name))
    for feature in model_inputs.INPUTS:
      for kernel in feature.kernels:
        shape = ((kernel.columns,) if kernel.columns else ()) + (kernel.classes, 4 * rnn_size)
        setattr(self, kernel.param,
                nnx.Param(jnp.zeros(shape)) if feature.name in self.inputs else None)
    # With copy_lookback (and lookback), a direct path from each lookback token to the output:
    # the last hidden state weighs "play what was played k bars ago", added to that token's
    # logit. Zeros at first.
    # With extra_lookback, its tokens are copied too, and with repeat_match its token (COPIED).
    num_bars = sum(width for name, width in COPIED if options.get(name))
    copy = options.get('copy_lookback', False)
    self.copy_kernel = nnx.Param(jnp.zeros((rnn_size, num_bars))) if copy else None
    self.copy_bias = nnx.Param(jnp.zeros((num_bars,))) if copy else None
    # With copy_bars, the decision head, and a weight per kind of bar (bar_copies.bar_kinds)
    # on each lookback of the copy path (zeros at first): a new bar copies less.
    copy_bars = options.get('copy_bars', False)
    # With form_decisions, the head reads the tune's form (bar_copies.form_features, with the
    # pace when the model reads it), not the hidden state; with form_ends it also decides the
    # bar a tune ends in (bar_copies.LAST_BAR).
    self.form_decisions = options.get('form_decisions', False)
    self.form_ends = options.get('form_ends', False)
    form_size = bar_copies.num_form_features(pace='pace' in self.inputs)
    self.bar_copy_head = (nnx.Linear(form_size if self.form_decisions else rnn_size,
                                     bar_copies.num_options(self.form_ends), rngs=rngs)
                          if copy_bars else None)
    self.bar_kind_kernel = (nnx.Param(jnp.zeros((bar_copies.NUM_KINDS, num_bars)))
                            if copy_bars else None)

  def project_inputs(self, inputs: StepInputs) -> jax.Array:
    """The first layer's input projection (..., 4H) of StepInputs (..., ): the token's row of
    the input kernel, plus each input's rows."""
    projected = self.layers[0].project_tokens(inputs.tokens.astype(jnp.int32))
    for feature in model_inputs.INPUTS:
      if feature.name not in self.inputs:
        continue
      values, column = getattr(inputs, feature.name).astype(jnp.int32), 0
      for kernel in feature.kernels:
        param = getattr(self, kernel.param)[...]
        if not kernel.columns:
          projected += jnp.take(param, values, axis=0)
        for offset in range(kernel.columns):
          projected += jnp.take(param[offset], values[..., column + offset], axis=0)
        column += kernel.columns
    return projected

  def _hidden(self, inputs: StepInputs, dropout_rng: jax.Array | None, unroll: int = 1,
              starts: jax.Array | None = None) -> tuple[jax.Array, jax.Array | None]:
    """(batch, time) inputs -> the last layer's (time, batch, H) outputs, and the dropout key
    left for them (None without dropout). ``starts`` (batch, time): 1 where a track starts
    inside a row of several (the state restarts from zero there)."""
    rngs = ([None] * len(self.layers) if dropout_rng is None
            else list(jax.random.split(dropout_rng, len(self.layers))))
    time_major = model_inputs.map_arrays(lambda values: jnp.swapaxes(values, 0, 1), inputs)
    keeps = None if starts is None else (1.0 - starts.T.astype(jnp.float32))[..., None]
    hidden = self.layers[0].scan(self.project_inputs(time_major), keeps, unroll)
    for layer, rng in zip(self.layers[1:], rngs[:-1]):
      hidden = layer.scan(layer.project(dropout(hidden, self.dropout_rate, rng)), keeps, unroll)
    return hidden, rngs[-1]

  def output(self, hidden: jax.Array, read: StepInputs, bar_kinds: jax.Array | None = None
             ) -> jax.Array:
    """The last layer's (..., H) outputs -> (..., classes) logits; for a model built with
    copy_lookback, each lookback token's logit also gets the weight the hidden state gives it
    (``read``: the StepInputs of the step read; NO_LOOKBACK gets none), and with copy_bars
    the weight of the kind of bar the next step is in (``bar_kinds`` (...,); None: UNKNOWN)."""
    logits = self.head(hidden)
    if self.copy_kernel is None:
      return logits
    weights = hidden @ self.copy_kernel[...] + self.copy_bias[...]
    if self.bar_kind_kernel is not None:
      kinds = (jnp.full(hidden.shape[:-1], bar_copies.UNKNOWN) if bar_kinds is None
               else bar_kinds)
      weights += jnp.take(self.bar_kind_kernel[...], kinds, axis=0)
    # NO_LOOKBACK (the 130th class) is no token: it gets no weight, not the tune end's.
    looked_back = jax.nn.one_hot(self.copied_tokens(read), NUM_CLASSES)
    if self.num_classes > NUM_CLASSES:
      looked_back = jnp.pad(looked_back, [(0, 0)] * (looked_back.ndim - 1) + [(0, 1)])
    return logits + jnp.einsum('...k,...kc->...c', weights, looked_back)

  def copied_tokens(self, read: StepInputs) -> jax.Array:
    """The tokens the copy path can copy: (..., lookbacks) of ``read``'s lookback tokens, then
    its extra_lookback tokens and its repeat_match token with those inputs (COPIED)."""
    return jnp.concatenate([getattr(read, name)[..., :width] for name, width in COPIED
                            if name in self.inputs], -1)

  def copy_logits(self, hidden: jax.Array, read: StepInputs, recent: jax.Array | None = None
                  ) -> jax.Array:
    """The last layer's (..., H) outputs -> (..., bar_copies.num_options) logits of the bar
    that the next step starts: new, a copy of the bar LOOKBACK_BARS[i] back (a copy with no
    such bar, NO_LOOKBACK in ``read``'s lookback, is ruled out), or with form_ends the tune's
    last (bar_copies.LAST_BAR). A model with copy_bars only;
    with form_decisions, from the (..., RECENT_BARS) ``recent`` bars' targets instead."""
    missing = read.lookback[..., :len(LOOKBACK_BARS)] == model_inputs.NO_LOOKBACK
    ruled_out = jnp.concatenate([jnp.zeros_like(missing[..., :1]), missing]
                                + [jnp.zeros_like(missing[..., :1])] * self.form_ends, axis=-1)
    pace = read.pace.astype(jnp.int32) if read.pace is not None else None
    reads = (bar_copies.form_features(recent, read.bar_number.astype(jnp.int32),
                                      read.bar_position.astype(jnp.int32), pace)
             if self.form_decisions else hidden)
    return jnp.where(ruled_out, -1e9, self.bar_copy_head(reads))

  def __call__(self, inputs: StepInputs, dropout_rng: jax.Array | None = None) -> jax.Array:
    """(batch, window) inputs -> (batch, 129) logits of the step after the window.
    ``dropout_rng`` turns dropout on (training); leave it None otherwise."""
    hidden, rng = self._hidden(inputs, dropout_rng)
    # Only the last step feeds the head, so only it needs the last dropout.
    return self.output(dropout(hidden[-1], self.dropout_rate, rng),
                       model_inputs.map_arrays(lambda values: values[:, -1], inputs))

  def every_step(self, inputs: StepInputs, dropout_rng: jax.Array | None = None,
                 starts: jax.Array | None = None) -> jax.Array:
    """(batch, time) inputs -> (batch, time, 129) logits of the step after each step, from a
    zero state (and from zero again at each of ``starts``): the sequence mode's model."""
    return self.every_step_outputs(inputs, dropout_rng, starts)[0]

  def every_step_outputs(self, inputs: StepInputs, dropout_rng: jax.Array | None = None,
                         starts: jax.Array | None = None, bar_kinds: jax.Array | None = None,
                         recent: jax.Array | None = None
                         ) -> tuple[jax.Array, jax.Array | None]:
    """``every_step``'s logits (with copy_bars, told the (batch, time) ``bar_kinds``), and with
    copy_bars the (batch, time, NUM_OPTIONS) ``copy_logits`` after every step (else None)."""
    hidden, rng = self._hidden(inputs, dropout_rng, SEQUENCE_UNROLL, starts)
    hidden = dropout(hidden, self.dropout_rate, rng)
    read = model_inputs.map_arrays(lambda values: jnp.swapaxes(values, 0, 1), inputs)
    kinds = None if bar_kinds is None else jnp.swapaxes(bar_kinds, 0, 1)
    logits = jnp.swapaxes(self.output(hidden, read, kinds), 0, 1)
    if self.bar_copy_head is None:
      return logits, None
    recent = None if recent is None else jnp.swapaxes(recent, 0, 1)
    return logits, jnp.swapaxes(self.copy_logits(hidden, read, recent), 0, 1)
