"""The next-step LSTM: ``num_layers`` LSTMs of ``rnn_size``, dropout after each, Dense(129).

Written as its own NNX module (not ``nnx.RNN``) for two things the original had
and speed needs: Keras-style initialisation (Glorot-uniform input kernel,
orthogonal recurrent kernel, forget-gate bias 1), and the first layer's one-hot
input done as a row lookup of the input kernel (identical maths, no 129-wide
matmul). Each layer projects all its inputs in one matmul before the time scan,
so the scan holds only the recurrent matmul.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from midi_rnn_jax.encoding import NUM_CLASSES


class LSTMLayer(nnx.Module):
  """One LSTM over a whole sequence; gates are ordered (input, forget, cell, output)."""

  def __init__(self, in_features: int, hidden_size: int, *, rngs: nnx.Rngs):
    self.hidden_size = hidden_size
    self.input_kernel = nnx.Param(
        nnx.initializers.glorot_uniform()(rngs.params(), (in_features, 4 * hidden_size)))
    self.recurrent_kernel = nnx.Param(
        nnx.initializers.orthogonal()(rngs.params(), (hidden_size, 4 * hidden_size)))
    forget_gate = jnp.arange(4 * hidden_size) // hidden_size == 1
    self.bias = nnx.Param(forget_gate.astype(jnp.float32))

  def project_tokens(self, tokens: jax.Array) -> jax.Array:
    """one_hot(tokens) @ input_kernel, as a row gather."""
    return jnp.take(self.input_kernel[...], tokens, axis=0) + self.bias[...]

  def project(self, inputs: jax.Array) -> jax.Array:
    return inputs @ self.input_kernel[...] + self.bias[...]

  def step(self, projected_t: jax.Array, cell: jax.Array, hidden: jax.Array
           ) -> tuple[jax.Array, jax.Array]:
    """One time step: input projection (..., 4H) and state (..., H) -> new (cell, hidden)."""
    gates = projected_t + hidden @ self.recurrent_kernel[...]
    i, f, g, o = jnp.split(gates, 4, axis=-1)
    cell = jax.nn.sigmoid(f) * cell + jax.nn.sigmoid(i) * jnp.tanh(g)
    return cell, jax.nn.sigmoid(o) * jnp.tanh(cell)

  def scan(self, projected: jax.Array) -> jax.Array:
    """(batch, time, 4H) input projections -> (batch, time, H) hidden states, from a zero state."""
    zeros = jnp.zeros((projected.shape[0], self.hidden_size), projected.dtype)

    def step(carry, projected_t):
      cell, hidden = self.step(projected_t, *carry)
      return (cell, hidden), hidden

    _, hidden = jax.lax.scan(step, (zeros, zeros), jnp.swapaxes(projected, 0, 1))
    return jnp.swapaxes(hidden, 0, 1)


def dropout(x: jax.Array, rate: float, rng: jax.Array | None) -> jax.Array:
  """Inverted dropout; identity when ``rng`` is None (evaluation and sampling)."""
  if rng is None or rate == 0.0:
    return x
  keep = jax.random.bernoulli(rng, 1.0 - rate, x.shape)
  return jnp.where(keep, x / (1.0 - rate), 0.0)


class MelodyLSTM(nnx.Module):
  """Window of tokens -> logits over the 129 classes of the next step."""

  def __init__(self, *, rnn_size: int, num_layers: int, dropout: float, rngs: nnx.Rngs):
    self.dropout_rate = dropout
    sizes = [NUM_CLASSES] + [rnn_size] * num_layers
    self.layers = nnx.List([LSTMLayer(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])])
    self.head = nnx.Linear(rnn_size, NUM_CLASSES, rngs=rngs)

  def __call__(self, tokens: jax.Array, dropout_rng: jax.Array | None = None) -> jax.Array:
    """(batch, window) int tokens -> (batch, 129) logits.

    ``dropout_rng`` turns dropout on (training); leave it None otherwise.
    """
    rngs = ([None] * len(self.layers) if dropout_rng is None
            else list(jax.random.split(dropout_rng, len(self.layers))))
    hidden = self.layers[0].scan(self.layers[0].project_tokens(tokens))
    for layer, rng in zip(self.layers[1:], rngs[:-1]):
      hidden = layer.scan(layer.project(dropout(hidden, self.dropout_rate, rng)))
    # Only the last step feeds the head, so only it needs the last dropout.
    return self.head(dropout(hidden[:, -1], self.dropout_rate, rngs[-1]))
