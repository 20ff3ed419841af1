"""Pure sampling pieces: prime windows and the jitted generation loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from midi_rnn_jax import encoding


def choose_primes(tracks: Sequence[np.ndarray], count: int, window_size: int,
                  rng: np.random.Generator) -> np.ndarray:
  """``count`` windows drawn uniformly from all windows of ``tracks``: (count, window_size)."""
  # A prime needs no target after it, so any start up to len - window_size works.
  starts = encoding.window_starts([len(t) + 1 for t in tracks], window_size)
  flat = np.concatenate([np.append(t, encoding.REST) for t in tracks])
  chosen = rng.choice(starts, count)
  return flat[chosen[:, None] + np.arange(window_size)]


def make_sampler(graphdef: nnx.GraphDef, num_steps: int,
                 temperature: float) -> Callable[[nnx.State, jax.Array, jax.Array], jax.Array]:
  """A jitted ``(params, primes, key) -> (batch, num_steps)`` tokens function.

  All melodies advance together in one ``lax.scan``; each step feeds the
  model the last ``window`` tokens and draws the next from
  softmax(logits / temperature), or takes the argmax when temperature is 0.
  """

  @jax.jit
  def sample(params, primes, key):
    model = nnx.merge(graphdef, params)

    def step(window, step_key):
      logits = model(window)
      if temperature == 0:
        token = jnp.argmax(logits, axis=-1)
      else:
        token = jax.random.categorical(step_key, logits / temperature)
      token = token.astype(window.dtype)
      return jnp.concatenate([window[:, 1:], token[:, None]], axis=1), token

    _, tokens = jax.lax.scan(step, primes.astype(jnp.int32), jax.random.split(key, num_steps))
    return tokens.T

  return sample
