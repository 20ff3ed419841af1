"""Pure sampling pieces: primes, scale masks, logit filters and the jitted generation loop."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from midi_rnn_jax import encoding
from midi_rnn_jax.errors import UserError

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
# A primer or a file longer than this (3.5 hours of 16ths at 120 BPM) is a typo, not a melody,
# and would fill the memory or take hours.
MAX_STEPS = 100_000
KEYS = {'C': 0, 'C#': 1, 'Db': 1, 'D': 2, 'D#': 3, 'Eb': 3, 'E': 4, 'F': 5, 'F#': 6, 'Gb': 6,
        'G': 7, 'G#': 8, 'Ab': 8, 'A': 9, 'A#': 10, 'Bb': 10, 'B': 11}


def key_root(key: str) -> int:
  """The pitch class of ``key`` (any case); a UserError naming --key when it is none."""
  root = {k.lower(): v for k, v in KEYS.items()}.get(key.strip().lower())
  if root is None:
    raise UserError(f'--key {key!r} is not a key: use one of {", ".join(KEYS)}')
  return root


def scale_mask(key: str, scale: str) -> np.ndarray:
  """(129,) bool: the tokens allowed in ``key`` ``scale`` (rests always are)."""
  root = key_root(key)
  pitch_classes = (np.arange(128) - root) % 12
  return np.concatenate([[True], np.isin(pitch_classes, SCALES[scale])])


NOTE_NAME = re.compile(r'([A-Ga-g])([#b]?)(-?\d+)')
PITCH_CLASSES = {'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}


def parse_pitch(text: str) -> int | None:
  """A MIDI pitch from ``"60"`` or a scientific note name (``"C4"`` = 60, ``"F#4"``,
  ``"Bb3"``); None when it is neither or falls outside 0-127."""
  if (name := NOTE_NAME.fullmatch(text)):
    letter, accidental, octave = name.groups()
    pitch = ((int(octave) + 1) * 12 + PITCH_CLASSES[letter.upper()]
             + {'#': 1, 'b': -1, '': 0}[accidental])
  elif text.isdigit():
    pitch = int(text)
  else:
    return None
  return pitch if 0 <= pitch <= 127 else None


def parse_primer(text: str) -> np.ndarray:
  """``"60,D4,F#4:2,_,Bb3"`` -> tokens: MIDI pitches or note names and ``_`` rests, one
  step each unless ``:N`` gives a number of steps; at most MAX_STEPS in all."""
  tokens = []
  for item in text.split(','):
    value, _, steps = item.strip().partition(':')
    pitch = None if value == '_' else parse_pitch(value)
    count = int(steps) if steps.isdigit() else 0 if steps else 1
    if (value != '_' and pitch is None) or count < 1:
      raise UserError(f'--primer_notes: {item.strip()!r} is not a pitch (0-127 or a note name '
                      'such as C4, F#4, Bb3) or _ (a rest), optionally followed by :steps')
    tokens.append((encoding.REST if pitch is None else pitch + 1, count))
  total = sum(count for _, count in tokens)
  if total > MAX_STEPS:
    raise UserError(f'--primer_notes spans {total} steps; at most {MAX_STEPS} are allowed')
  return np.repeat(np.array([t for t, _ in tokens], np.uint8), [c for _, c in tokens])


class Primer(NamedTuple):
  """What a melody starts from: tokens, their bar positions, the bar length where it ends."""
  tokens: np.ndarray  # uint8 (steps,)
  positions: np.ndarray  # uint8 (steps,)
  bar_length: int


def primer_on_downbeat(tokens: np.ndarray, bar_length: int) -> Primer:
  """A hand-written primer, taken to start on a bar line."""
  return Primer(tokens, encoding.Meter.on_downbeat(len(tokens), bar_length).positions,
                bar_length)


def prime_window(primer: Primer, window_size: int) -> Primer:
  """The last ``window_size`` steps of a primer, left-padded with rests when shorter (their
  bar positions counted back)."""
  tokens, positions = primer.tokens[-window_size:], primer.positions[-window_size:]
  padding = window_size - len(tokens)
  before = (int(positions[0]) - padding + np.arange(padding)) % primer.bar_length
  return Primer(np.concatenate([np.full(padding, encoding.REST, np.uint8), tokens]),
                np.concatenate([before, positions]).astype(np.uint8), primer.bar_length)


def choose_primes(tracks: Sequence[np.ndarray], meters: Sequence[encoding.Meter], count: int,
                  window_size: int, rng: np.random.Generator) -> list[Primer]:
  """``count`` windows drawn uniformly from all windows of ``tracks`` (with their meters)."""
  # A prime needs no target after it, so any start up to len - window_size works.
  starts = encoding.window_starts([len(t) + 1 for t in tracks], window_size)
  flat = np.concatenate([np.append(t, encoding.REST) for t in tracks])
  positions = np.concatenate([np.append(m.positions, 0) for m in meters])
  bar_lengths = np.concatenate([np.append(m.bar_lengths, 1) for m in meters])
  chosen = rng.choice(starts, count)[:, None] + np.arange(window_size)
  return [Primer(flat[i], positions[i], int(bar_lengths[i[-1]])) for i in chosen]


def stack_primes(primers: Sequence[Primer], num_steps: int) -> tuple[np.ndarray, np.ndarray]:
  """(tokens (batch, primer steps), bar positions (batch, primer steps + num_steps)) of
  primers of one length: a sampler's ``primes`` and ``bar_positions``, counting on after
  each primer in bars of its last bar length."""
  tokens = np.stack([p.tokens for p in primers])
  positions = np.stack([p.positions for p in primers]).astype(np.int64)
  following = positions[:, -1:] + 1 + np.arange(num_steps)
  bar_lengths = np.array([p.bar_length for p in primers])[:, None]
  return tokens, np.concatenate([positions, following % bar_lengths], axis=1).astype(np.uint8)


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


def _input_reader(model, primes: jax.Array, num_steps: int, bar_positions: jax.Array | None,
                  lookback_index: jax.Array | None):
  """``(history, read)``: ``read(history, token, step) -> (history, first layer's input,
  lookbacks)`` for the token read at ``step`` (of the primer, then of the melody), with its
  bar position and, for a model built with lookback, its lookback inputs taken from
  ``history``, every token read so far (``history`` and ``lookbacks`` None for other
  models)."""
  batch, length = primes.shape
  if bar_positions is None:
    bar_positions = jnp.zeros((batch, length + num_steps), jnp.int32)

  def read(history, token, step):
    lookbacks = None
    if history is not None:  # As encoding.lookback_inputs, from the tokens read so far.
      history = history.at[:, step].set(token)
      index = lookback_index[:, step]
      looked_up = jnp.where(index >= 0, jnp.take_along_axis(history, jnp.maximum(index, 0), 1),
                            -1)
      lookbacks = encoding.lookback_features(looked_up, token, jnp)
    return history, model.project_inputs(token, bar_positions[:, step], lookbacks), lookbacks

  history = (None if model.lookback_kernel is None else
             jnp.zeros((batch, length + num_steps), jnp.int32).at[:, :length].set(primes))
  return history, read


def _with_lookback_index(sample: Callable) -> Callable:
  """The jitted ``sample(params, primes, key, bar_positions, lookback_index)`` called as
  ``(params, primes, key, bar_positions=None)``: where to look back is found here, in numpy."""

  def with_index(params, primes, key, bar_positions=None):
    index = None if bar_positions is None else encoding.lookback_index(bar_positions)
    return sample(params, primes, key, bar_positions, index)

  return with_index


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
  def sample(params, primes, key, bar_positions, lookback_index):
    model = nnx.merge(graphdef, params)
    layers = list(model.layers)
    batch, window = primes.shape
    history, read = _input_reader(model, primes, num_steps, bar_positions, lookback_index)
    state = tuple((jnp.zeros((batch, window, layer.hidden_size)),) * 2 for layer in layers)

    def feed(carry, token, position):
      """Advances every run by ``token``; the run starting at ``position`` starts fresh.
      Keeps ``token``'s lookbacks for the output."""
      state, history, _ = carry
      fresh = (jnp.arange(window) == position % window)[None, :, None]
      history, inputs, lookbacks = read(history, token, position)  # The same for every run.
      return (_advance(layers, state, inputs[:, None, :], lambda old: jnp.where(fresh, 0.0, old)),
              history, lookbacks)

    def prime_step(carry, position):
      return feed(carry, primes[:, position].astype(jnp.int32), position), None

    def generate_step(carry, inputs):
      position, step_key = inputs  # The last position read so far.
      oldest_run = carry[0][-1][1][:, (position + 1) % window]  # It started window-1 steps ago.
      token, share = choose(model.output(oldest_run, carry[2]), step_key)
      token = token.astype(jnp.int32)
      return feed(carry, token, position + 1), (token, share)

    lookbacks = (None if history is None else
                 jnp.zeros((batch, 2 * len(encoding.LOOKBACK_BARS)), jnp.int32))
    carry, _ = jax.lax.scan(prime_step, (state, history, lookbacks), jnp.arange(window))
    positions = window - 1 + jnp.arange(num_steps)
    _, (tokens, shares) = jax.lax.scan(generate_step, carry,
                                       (positions, jax.random.split(key, num_steps)))
    return Sampled(tokens.T, shares.T)

  return _with_lookback_index(sample)


def make_sequence_sampler(graphdef: nnx.GraphDef, num_steps: int, temperature: float, *,
                          top_k: int = 0, top_p: float = 1.0, allowed: np.ndarray | None = None
                          ) -> Callable[[nnx.State, jax.Array, jax.Array], Sampled]:
  """The sequence mode's sampler, with the same interface and controls as ``make_sampler``:
  the model reads the whole primer once, then takes one LSTM step per generated token,
  carrying its state, so each token is drawn from everything played before it."""
  choose = token_chooser(temperature, top_k=top_k, top_p=top_p, allowed=allowed)

  @jax.jit
  def sample(params, primes, key, bar_positions, lookback_index):
    model = nnx.merge(graphdef, params)
    layers = list(model.layers)
    batch, length = primes.shape
    history, read = _input_reader(model, primes, num_steps, bar_positions, lookback_index)

    def feed(carry, token, step):
      """One step of every layer; returns the new state and the logits of the next token."""
      state, history = carry
      history, inputs, lookbacks = read(history, token, step)
      state = _advance(layers, state, inputs)
      return (state, history), model.output(state[-1][1], lookbacks)

    def generate_step(carry, inputs):
      carry, logits = carry
      step, step_key = inputs
      token, share = choose(logits, step_key)
      return feed(carry, token.astype(jnp.int32), step), (token, share)

    state = tuple((jnp.zeros((batch, layer.hidden_size)),) * 2 for layer in layers)
    carry, logits = jax.lax.scan(lambda c, inputs: feed(c, *inputs), (state, history),
                                 (primes.T.astype(jnp.int32), jnp.arange(length)))
    _, (tokens, shares) = jax.lax.scan(generate_step, (carry, logits[-1]),
                                       (length + jnp.arange(num_steps),
                                        jax.random.split(key, num_steps)))
    return Sampled(tokens.T, shares.T)

  return _with_lookback_index(sample)
