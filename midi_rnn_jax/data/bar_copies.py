"""Whole-bar copies (``--copy_bars``): at each bar line the model also says whether the coming
bar repeats, step for step, the bar 1, 2, 4 or 8 bars back, or is new; the sampler then copies
the bar whole, or keeps a new bar from repeating one of them by chance. A per-step copy path
cannot do this: a bar of 16 steps each copied with probability 0.9 comes back whole 19% of the
time. Here, the targets of that decision, in numpy (the model's and the sampler's side are in
model.lstm and generate.samplers), and what each step's output is told of its bar.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from midi_rnn_jax.data import model_inputs
from midi_rnn_jax.data.encoding import MAX_BAR_STEPS
from midi_rnn_jax.data.model_inputs import LOOKBACK_BARS, TUNE_END

# The decision's options: 0, a new bar; 1 + i, a copy of the bar LOOKBACK_BARS[i] back (the
# lookback inputs hold its tokens: model_inputs.lookback_features).
NEW_BAR = 0
NUM_OPTIONS = 1 + len(LOOKBACK_BARS)
# With form ends (``--form_ends``), one more option: the bar is new and the tune ends in it. Its
# target sets the bit after the copies' (``option_sets``).
LAST_BAR = NUM_OPTIONS
LAST_BAR_TARGET = 1 + (1 << len(LOOKBACK_BARS))


def num_options(form_ends: bool) -> int:
  """The decision's options: NUM_OPTIONS, and LAST_BAR with form ends."""
  return NUM_OPTIONS + form_ends


def copy_targets(tokens: np.ndarray, positions: np.ndarray, end_copies: bool = False
                 ) -> np.ndarray:
  """A track's tokens and bar positions (as the model reads them) -> (steps,) uint8 per input
  step: 0 where the step after it does not start a bar; else 1 + a bit set for each i where the
  bar that the next step starts repeats the bar LOOKBACK_BARS[i] back (every step equal to
  the step that many bars before it; a tune's end repeats nothing, or with ``end_copies``
  stands for any step: a tune may end in a bar it copies), so 1 means a new bar."""
  tokens, positions = np.asarray(tokens, np.int64), np.asarray(positions)
  back = model_inputs.bars_back(positions)[:, [bars - 1 for bars in LOOKBACK_BARS]]
  is_end = tokens[:, None] == TUNE_END
  same = (back >= 0) & ((tokens[np.maximum(back, 0)] == tokens[:, None]) & ~is_end
                        | is_end & end_copies)
  bar_starts = np.flatnonzero(positions == 0)
  bar_starts = bar_starts[bar_starts > 0]
  targets = np.zeros(len(tokens), np.uint8)
  if len(bar_starts):
    whole_bar = np.logical_and.reduceat(same, bar_starts, axis=0)  # To the next bar line.
    targets[bar_starts - 1] = 1 + whole_bar @ (1 << np.arange(len(LOOKBACK_BARS)))
  return targets


def option_sets(targets, xp=np, options: int = NUM_OPTIONS):
  """(...,) targets -> (..., ``options``) bool: the options each decision's bar fits (new
  alone, the copies it repeats, or the last bar alone). ``xp``: numpy, or jax.numpy inside a
  jitted step."""
  bits = targets.astype(xp.int32)[..., None] - 1
  copies = (bits >> xp.arange(options - 1)) & 1 == 1
  return xp.concatenate([bits == 0, copies], axis=-1)


def drawn_as(p_options: np.ndarray) -> np.ndarray:
  """(..., options) probabilities of a decision -> (..., NUM_OPTIONS): as its bar's notes are
  drawn, a last bar's as a new bar's."""
  if p_options.shape[-1] == NUM_OPTIONS:
    return p_options
  new = p_options[..., :1] + p_options[..., LAST_BAR:]
  return np.concatenate([new, p_options[..., 1:LAST_BAR]], -1)


# What a step's output knows of the bar its target is in (``bar_kinds``): nothing yet (before a
# track's first bar line, or a row's), that the bar is new, or that it is a copy.
UNKNOWN, NEW, COPY = 0, 1, 2
NUM_KINDS = 3


def bar_kinds(targets, starts=None):
  """(batch, steps) copy targets -> (batch, steps) int32: for each input step, the kind (NEW or
  COPY) that the last decision at or before it gave the bar of its target, or UNKNOWN before
  any (or before any since its track started, ``starts`` 1). jax.numpy: used in jitted steps."""
  decided = targets > 0
  marks = decided if starts is None else decided | (starts > 0)
  steps = jnp.arange(targets.shape[-1])
  last = jax.lax.cummax(jnp.where(marks, steps, -1), axis=targets.ndim - 1)
  kinds = jnp.where(decided, jnp.where(targets == 1, NEW, COPY), UNKNOWN)
  return jnp.where(last >= 0, jnp.take_along_axis(kinds, jnp.maximum(last, 0), -1), UNKNOWN)


# Form decisions (``--form_decisions``): the bar decision read from the tune's form alone, the
# targets of its last RECENT_BARS bars (which of them repeated the bar 1, 2, 4 or 8 back) and
# the bar's number, not from the LSTM's state: a decision that cannot be led by the notes of
# the model's own first time through a strain.
RECENT_BARS = 8
MAX_FORM_BAR = 31
NUM_FORM_FEATURES = (len(LOOKBACK_BARS) * (RECENT_BARS + 1) + len(LOOKBACK_BARS) ** 2
                     + MAX_FORM_BAR + 1 + MAX_BAR_STEPS)


def num_form_features(pace: bool) -> int:
  """The size of ``form_features``: with the pace (a model with that input), NUM_PACES more."""
  return NUM_FORM_FEATURES + model_inputs.NUM_PACES * pace


def recent_targets(targets, starts=None):
  """(batch, steps) copy targets -> ((batch, steps, RECENT_BARS) int32, the targets of the
  decisions before each step, the latest first, 0 before its track's start; (batch, steps)
  bool: whether they are all known, not cut off by a row that starts inside a track)."""
  steps = jnp.arange(targets.shape[-1])
  last = jax.lax.cummax(jnp.where(targets > 0, steps, -1), axis=1)
  before = jnp.concatenate([jnp.full_like(last[:, :1], -1), last[:, :-1]], axis=1)
  track_start = (jnp.zeros_like(targets, jnp.int32) if starts is None else
                 jax.lax.cummax(jnp.where(starts > 0, steps, -1), axis=1))
  index, columns, known = before, [], jnp.zeros(targets.shape, jnp.int32)
  for _ in range(RECENT_BARS):
    valid = (index >= 0) & (index >= track_start)
    at = jnp.maximum(index, 0)
    columns.append(jnp.where(valid, jnp.take_along_axis(targets.astype(jnp.int32), at, 1), 0))
    known += valid
    index = jnp.where(valid, jnp.take_along_axis(before, at, 1), -1)
  return jnp.stack(columns, -1), (track_start >= 0) | (known == RECENT_BARS)


def ends_tune(targets, copies):
  """(batch, steps) token targets and copy targets -> (batch, steps) bool: whether the bar a
  decision starts holds its tune's end. jax.numpy."""
  steps = jnp.arange(targets.shape[-1])
  never = targets.shape[-1]
  next_end = jax.lax.cummin(jnp.where(targets == TUNE_END, steps, never), axis=1, reverse=True)
  later = jnp.where(copies > 0, steps, never)
  next_bar = jax.lax.cummin(jnp.concatenate([later[:, 1:], jnp.full_like(later[:, :1], never)],
                                            1), axis=1, reverse=True)
  return (copies > 0) & (next_end < next_bar)


def form_decision_targets(targets, copies, form_ends: bool = False):
  """A form_decisions model's copy targets for its decisions: the bar a tune ends in counted
  new (the form cannot see the end coming), or with ``form_ends`` its own LAST_BAR_TARGET,
  whatever ``copies`` (end_copies) says of its steps. jax.numpy."""
  return jnp.where(ends_tune(targets, copies), LAST_BAR_TARGET if form_ends else 1, copies)


def pushed(recent, target):
  """The (..., RECENT_BARS) targets with ``target`` (...,) the latest."""
  return jnp.concatenate([target[..., None], recent[..., :-1]], -1)


def form_features(recent, bar_number, bar_position, pace=None):
  """(..., RECENT_BARS) targets, (...,) bar numbers and bar positions (at a bar's last step: its
  length, the meter) -> (..., NUM_FORM_FEATURES): for each lookback, how many of the latest
  bars in a row repeated it (one-hot, 0 to RECENT_BARS); which lookbacks the bar each option
  would copy repeated itself; the bar number and the bar position (one-hot); with a (...,)
  ``pace`` (model_inputs: a model with that input), its one-hot last (``num_form_features``)."""
  bits = jnp.arange(len(LOOKBACK_BARS))
  repeats = (recent[..., None] > 0) & (((recent[..., None] - 1) >> bits) & 1 == 1)
  runs = jnp.sum(jnp.cumprod(repeats, axis=-2), axis=-2)
  copied = repeats[..., [bars - 1 for bars in LOOKBACK_BARS], :]
  lead = recent.shape[:-1]
  return jnp.concatenate([
      jax.nn.one_hot(runs, RECENT_BARS + 1).reshape(lead + (-1,)),
      copied.reshape(lead + (-1,)).astype(jnp.float32),
      jax.nn.one_hot(jnp.minimum(bar_number, MAX_FORM_BAR), MAX_FORM_BAR + 1),
      jax.nn.one_hot(bar_position, MAX_BAR_STEPS)]
      + ([] if pace is None else [jax.nn.one_hot(pace, model_inputs.NUM_PACES)]), -1)
