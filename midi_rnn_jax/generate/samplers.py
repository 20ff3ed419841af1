"""Pure sampling pieces: scale masks, logit filters and the jitted generation loops of both
modes."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from midi_rnn_jax.data import bar_copies, model_inputs
from midi_rnn_jax.data.encoding import NUM_CLASSES
from midi_rnn_jax.errors import UserError
from midi_rnn_jax.generate import bar_copier

# Semitones above the key's root of each scale's pitch classes.
SCALES = {
    'chromatic': tuple(range(12)),
    'major': (0, 2, 4, 5, 7, 9, 11),
    'minor': (0, 2, 3, 5, 7, 8, 10),
    'harmonic_minor': (0, 2, 3, 5, 7, 8, 11),
    'dorian': (0, 2, 3, 5, 7, 9, 10),
    'mixolydian': (0, 2, 4, 5, 7, 9, 10),
    'major_pentatonic': (0, 2, 4, 7, 9),
    'minor_pentatonic': (0, 3, 5, 7, 10),
    'blues': (0, 3, 5, 6, 7, 10),
}


KEYS = {'C': 0, 'C#': 1, 'Db': 1, 'D': 2, 'D#': 3, 'Eb': 3, 'E': 4, 'F': 5, 'F#': 6, 'Gb': 6,
        'G': 7, 'G#': 8, 'Ab': 8, 'A': 9, 'A#': 10, 'Bb': 10, 'B': 11}


def key_root(key: str) -> int:
  """The pitch class of ``key`` (any case); a UserError naming --key when it is none."""
  root = {k.lower(): v for k, v in KEYS.items()}.get(key.strip().lower())
  if root is None:
    raise UserError(f'--key {key!r} is not a key: use one of {", ".join(KEYS)}')
  return root


def scale_mask(key: str, scale: str, tune_ends: bool = False) -> np.ndarray:
  """(129,) bool (130 with ``tune_ends``): the tokens allowed in ``key`` ``scale`` (rests, and
  a tune's end, always are)."""
  root = key_root(key)
  pitch_classes = (np.arange(128) - root) % 12
  return np.concatenate([[True], np.isin(pitch_classes, SCALES[scale]), [True] * tune_ends])


def filter_logits(logits: jax.Array, *, top_k: int, top_p: float) -> jax.Array:
  """Sets to -inf every logit outside the top k (0: no limit) and outside the smallest
  set whose probability reaches top_p (1.0: no limit); the most likely token always stays."""
  if top_k > 0:
    kth_largest = jax.lax.top_k(logits, top_k)[0][..., -1:]
    logits = jnp.where(logits < kth_largest, -jnp.inf, logits)
  if top_p < 1.0:
    descending = jnp.sort(logits, axis=-1)[..., ::-1]
    probabilities = jax.nn.softmax(descending, axis=-1)
    before = jnp.cumsum(probabilities, axis=-1) - probabilities
    # The first (most likely) token stays even at top_p 0: that is greedy decoding.
    kept = jnp.where((before < top_p) | (jnp.arange(logits.shape[-1]) == 0), descending, jnp.inf)
    logits = jnp.where(logits < jnp.min(kept, axis=-1, keepdims=True), -jnp.inf, logits)
  return logits


def _advance(layers, state, inputs: jax.Array, reset=lambda x: x) -> tuple:
  """One step of every layer: the first reads ``inputs`` (its projected input), each next
  one the new output of the one below; ``reset`` maps each old state first."""
  new_state = []
  for layer, (cell, hidden) in zip(layers, state):
    if new_state:
      inputs = layer.project(new_state[-1][1])
    new_state.append(layer.step(inputs, reset(cell), reset(hidden)))
  return tuple(new_state)


def _input_reader(model, primes: jax.Array, num_steps: int, plans: dict):
  """``(history, read)``: ``read(history, token, step) -> (history, first layer's input,
  StepInputs)`` for the token read at ``step`` (of the primer, then of the melody), with the
  inputs ``plans`` names (model_inputs.sampler_plans: the model's, and any the sampler reads
  too) computed as for training, from ``history``, every token read so far (None when no input
  looks back)."""
  batch, length = primes.shape
  names = tuple(plans)

  def read(history, token, step):
    if history is not None:
      history = history.at[:, step].set(token)
    inputs = model_inputs.step_inputs(names, plans, history, token, step, jnp)
    return history, model.project_inputs(inputs), inputs

  history = (jnp.zeros((batch, length + num_steps), jnp.int32).at[:, :length].set(primes)
             if model_inputs.looks_back(names) else None)
  return history, read


def _with_plans(sample: Callable, graphdef: nnx.GraphDef, num_steps: int,
                also_read: tuple[str, ...] = ()) -> Callable:
  """The jitted ``sample(params, primes, key, plans)`` called as ``(params, primes, key,
  bar_positions=None)``: the plans of the model's inputs and of ``also_read``
  (model_inputs.sampler_plans) are found here, in numpy, from the bar positions of every step
  read (all 0 when not given)."""

  def with_plans(params, primes, key, bar_positions=None):
    if bar_positions is None:
      bar_positions = np.zeros((primes.shape[0], primes.shape[1] + num_steps), np.uint8)
    inputs = nnx.merge(graphdef, params).inputs + also_read
    return sample(params, primes, key, model_inputs.sampler_plans(inputs, bar_positions))

  return with_plans


class Sampled(NamedTuple):
  tokens: jax.Array  # (batch, num_steps)
  # (batch, num_steps) share of the model's probability that the scale mask kept at each
  # step (1 without a mask).
  scale_share: jax.Array


def token_chooser(temperature: float, *, top_k: int = 0, top_p: float = 1.0,
                  allowed: np.ndarray | None = None
                  ) -> Callable[[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]:
  """``(logits, key) -> (token, share of the model's probability the scale kept)``: the
  tokens ``allowed`` forbids are dropped, the logits divided by the temperature and cut to
  top-k / top-p, or the argmax taken at temperature 0."""

  def choose(logits, step_key):
    share = jnp.ones(logits.shape[:-1])
    if allowed is not None:
      share = jnp.sum(jax.nn.softmax(logits) * allowed, axis=-1)
      logits = jnp.where(allowed, logits, -jnp.inf)
    if temperature == 0:
      return jnp.argmax(logits, axis=-1), share
    logits = filter_logits(logits / temperature, top_k=top_k, top_p=top_p)
    return jax.random.categorical(step_key, logits), share

  return choose


def make_sampler(graphdef: nnx.GraphDef, num_steps: int, temperature: float, *,
                 top_k: int = 0, top_p: float = 1.0, allowed: np.ndarray | None = None
                 ) -> Callable[[nnx.State, jax.Array, jax.Array], Sampled]:
  """A jitted ``(params, primes, key, bar_positions=None) -> Sampled`` function: (batch,
  num_steps) tokens. ``bar_positions`` (batch, primes + num_steps): the bar position of every
  step read, for a model built with ``bar_position`` (``stack_primes``).

  The window mode's sampler: each new token is drawn (``token_chooser``) from the model's
  reading of the last ``window`` tokens, from a zero state, as in training. All melodies
  advance together in one ``lax.scan``.

  Speed, with the same maths: the windows that overlap the newest step are ``window``
  independent LSTM runs started one step apart. Rather than re-running the newest window
  for ``window`` time steps per token (that many small matmuls in a row), every run
  advances by one step per token in one ``window``-times wider matmul; the oldest run has
  then read exactly its window and gives the logits, and its slot restarts from zero.
  """

  choose = token_chooser(temperature, top_k=top_k, top_p=top_p, allowed=allowed)

  @jax.jit
  def sample(params, primes, key, plans):
    model = nnx.merge(graphdef, params)
    layers = list(model.layers)
    batch, window = primes.shape
    history, read = _input_reader(model, primes, num_steps, plans)
    state = tuple((jnp.zeros((batch, window, layer.hidden_size)),) * 2 for layer in layers)

    def feed(carry, token, position):
      """Advances every run by ``token``; the run starting at ``position`` starts fresh.
      Keeps ``token``'s StepInputs for the output."""
      state, history, _ = carry
      fresh = (jnp.arange(window) == position % window)[None, :, None]
      history, projected, inputs = read(history, token, position)  # The same for every run.
      return (_advance(layers, state, projected[:, None, :],
                       lambda old: jnp.where(fresh, 0.0, old)), history, inputs)

    def prime_step(carry, position):
      return feed(carry, primes[:, position].astype(jnp.int32), position), None

    def generate_step(carry, inputs):
      position, step_key = inputs  # The last position read so far.
      oldest_run = carry[0][-1][1][:, (position + 1) % window]  # It started window-1 steps ago.
      token, share = choose(model.output(oldest_run, carry[2]), step_key)
      token = token.astype(jnp.int32)
      return feed(carry, token, position + 1), (token, share)

    no_inputs = jax.tree.map(jnp.zeros_like, read(history, primes[:, 0].astype(jnp.int32), 0)[2])
    carry, _ = jax.lax.scan(prime_step, (state, history, no_inputs), jnp.arange(window))
    positions = window - 1 + jnp.arange(num_steps)
    _, (tokens, shares) = jax.lax.scan(generate_step, carry,
                                       (positions, jax.random.split(key, num_steps)))
    return Sampled(tokens.T, shares.T)

  return _with_plans(sample, graphdef, num_steps)


# Generated tokens per iteration of the sequence sampler's scan: fewer loop iterations for a
# loop whose every step is small (the same maths).
SAMPLE_UNROLL = 4


class Heard(NamedTuple):
  """What the sequence sampler knows of the next token after reading one: its logits, and for
  a copy_bars model the bar decision's logits and the tokens LOOKBACK_BARS before it (else
  None); a copy_bars model's logits are (batch, NUM_KINDS, classes), for each kind of bar the
  token may be in."""
  logits: jax.Array
  copy_logits: jax.Array | None = None
  ahead: jax.Array | None = None


class EndRules(NamedTuple):
  """Where the sampler of a model with tune ends lets a tune end; the defaults leave it where
  the model ends it."""
  # The end this many times as likely after a step where the tune would end home (the cadence
  # input's HOME_CADENCE), and this many times less likely after any other step.
  home_ending: float = 1.0
  min_length: int = 0  # No end before this many new steps.

  @property
  def reads_cadence(self) -> bool:
    return self.home_ending != 1

  def apply(self, logits: jax.Array, cadence: jax.Array | None, new_steps: jax.Array
            ) -> jax.Array:
    """(rows, ..., classes) logits after reading ``new_steps`` (scalar) new steps, with
    ``cadence`` (rows,) of the step read, the end's logit moved by these rules (the defaults:
    the logits as they are, with no operation added to the sampler)."""
    if self == EndRules():
      return logits
    end = logits[..., model_inputs.TUNE_END]
    if self.reads_cadence:
      tilt = jnp.where(cadence == model_inputs.HOME_CADENCE, 1.0, -1.0) * np.log(self.home_ending)
      end = end + tilt.reshape(tilt.shape + (1,) * (end.ndim - 1))
    if self.min_length:
      end = jnp.where(new_steps < self.min_length, -jnp.inf, end)
    return logits.at[..., model_inputs.TUNE_END].set(end)


def make_sequence_sampler(graphdef: nnx.GraphDef, num_steps: int, temperature: float, *,
                          top_k: int = 0, top_p: float = 1.0, allowed: np.ndarray | None = None,
                          end_rules: EndRules = EndRules()
                          ) -> Callable[[nnx.State, jax.Array, jax.Array], Sampled]:
  """The sequence mode's sampler, with the same interface and controls as ``make_sampler``:
  the model reads the whole primer once, then takes one LSTM step per generated token,
  carrying its state, so each token is drawn from everything played before it. A copy_bars
  model also decides at each bar line of the melody whether to copy a bar (bar_copier).
  ``end_rules`` move a tune-ends model's end (with ``home_ending``, from the cadence input,
  which the sampler reads for it when the model does not)."""
  choose = token_chooser(temperature, top_k=top_k, top_p=top_p, allowed=allowed)

  @jax.jit
  def sample(params, primes, key, plans):
    model = nnx.merge(graphdef, params)
    layers = list(model.layers)
    copies = model.bar_copy_head is not None
    tune_ends = model.num_classes > NUM_CLASSES
    draws = bar_copier.NEW_BAR_DRAWS if copies else 1
    primes = jnp.repeat(primes, draws, 0)
    plans = {name: jnp.repeat(plan, draws, 0) for name, plan in plans.items()}
    rows, length = primes.shape
    history, read = _input_reader(model, primes, num_steps, plans)

    def ruled(logits, inputs, step):
      return end_rules.apply(logits, inputs.cadence, step + 1 - length)

    def feed(carry, token, step, bar=bar_copier.no_bar(rows)):
      """One step of every layer; returns the new state and what it tells of the next token
      (with the ``bar`` under way: bar_copier.make)."""
      state, history = carry
      history, projected, inputs = read(history, token, step)
      state = _advance(layers, state, projected)
      hidden = state[-1][1]
      if not copies:
        return (state, history), Heard(ruled(model.output(hidden, inputs), inputs, step))
      kinds = jnp.broadcast_to(jnp.arange(bar_copies.NUM_KINDS), (rows, bar_copies.NUM_KINDS))
      per_kind = model.output(hidden[:, None], model_inputs.map_arrays(
          lambda values: values[:, None], inputs), kinds)
      return (state, history), Heard(ruled(per_kind, inputs, step),
                                     model.copy_logits(hidden, inputs, bar_copier.form(bar)),
                                     inputs.lookback[:, :len(model_inputs.LOOKBACK_BARS)])

    def generate_step(carry, inputs):
      carry, heard = carry
      step, step_key = inputs
      token, share = choose(heard.logits, step_key)
      return feed(carry, token.astype(jnp.int32), step), (token, share)

    state = tuple((jnp.zeros((rows, layer.hidden_size)),) * 2 for layer in layers)
    carry, heard = jax.lax.scan(lambda c, inputs: feed(c, *inputs), (state, history),
                                (primes.T.astype(jnp.int32), jnp.arange(length)))
    heard = jax.tree.map(lambda values: values[-1], heard)
    steps = (length + jnp.arange(num_steps), jax.random.split(key, num_steps))
    if not copies:
      _, (tokens, shares) = jax.lax.scan(generate_step, (carry, heard), steps,
                                         unroll=SAMPLE_UNROLL)
      return Sampled(tokens.T, shares.T)
    # A form decision does not know where the tune ends: its copies may end (bar_copier).
    step_token, settle = bar_copier.make(choose, temperature, plans['bar_position'], draws,
                                         ends_copies=model.form_decisions and tune_ends,
                                         form_ends=model.form_ends)

    def generate_copying(everything, inputs):
      carry, heard, bar, shares = everything
      step, step_key = inputs
      token, share, bar = step_token(heard, bar, step, step_key)
      carry, heard = feed(carry, token.astype(jnp.int32), step, bar)
      return settle((carry, heard, bar, shares.at[:, step - length].set(share)), bar, step), None

    ((_, history), *_, shares), _ = jax.lax.scan(
        generate_copying, (carry, heard, bar_copier.no_bar(rows), jnp.zeros((rows, num_steps))),
        steps, unroll=SAMPLE_UNROLL)
    return Sampled(history[::draws, length:], shares[::draws])

  return _with_plans(sample, graphdef, num_steps, ('cadence',) if end_rules.reads_cadence else ())


# Each mode's sampler (model.modes names the modes).
SAMPLERS = {'window': make_sampler, 'sequence': make_sequence_sampler}
