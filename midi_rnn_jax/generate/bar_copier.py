"""The sampling side of whole-bar copies (data/bar_copies.py): a copy_bars model's decisions at
bar lines, its copied bars, and its new bars drawn from those that are no copy."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from midi_rnn_jax.data import bar_copies, model_inputs

# Candidates drawn side by side for each new bar of a copy_bars model (``make``).
NEW_BAR_DRAWS = 4
# A form_ends model's end, in the bar it decided is the tune's last: this many times as likely
# (in odds) as the model has it after each step. 8: where the folk validation tunes' own end
# step is likeliest, had they to end in their last bar (scripts/end_tilt.py).
END_TILT = 8.0


class Bar(NamedTuple):
  """The bar under way in a melody (rows,): the copy being played (-1: none), the bar's kind
  (bar_copies.bar_kinds), per lookback whether the bar has equalled it so far, the targets of
  the bars before it (bar_copies.recent_targets), and whether it is the tune's last (a
  form_ends model's decision)."""
  copying: jax.Array
  kind: jax.Array
  matching: jax.Array
  recent: jax.Array
  last: jax.Array


def make(choose: Callable, temperature: float, bar_positions: jax.Array, draws: int,
         ends_copies: bool = False, form_ends: bool = False) -> tuple[Callable, Callable]:
  """``(step_token, settle)`` for a copy_bars model whose melodies each run on ``draws``
  consecutive rows, its candidates. ``step_token(heard, bar, step, key) -> (token, share,
  bar)`` (``heard``: a samplers.Heard): where ``step`` starts a bar, the model decides (its
  copy logits at ``temperature``, once per melody) whether the bar is new or a copy; a copy's
  tokens are those of the bar it copies; a new bar's are chosen (``choose``) from the steps' logits for a new bar, by each
  candidate on its own. ``settle(carry, bar, step)``: where a bar ends, every candidate
  becomes the first one that did not play a copy of a bar the decision could have named (the
  data calls such a bar a copy, not new), or the first if all did: a new bar is drawn from the
  new bars that are no copy. ``bar``: a Bar (``form``: the targets with the bar's own).
  ``ends_copies``: a copied bar's step is the tune's end as likely as the model ends it there
  (a form decision, which cannot see the end coming, may copy the bar a tune ends in).
  ``form_ends``: the decision may name the bar the tune's last (bar_copies.LAST_BAR), a new bar
  in which the end is END_TILT times as likely as the model has it."""
  rows = bar_positions.shape[0]

  def step_token(heard, bar, step, key):
    option_key, token_key = jax.random.split(key)
    starts_bar = bar_positions[:, step] == 0
    recent = jnp.where(starts_bar[:, None], form(bar), bar.recent)
    per_melody = heard.copy_logits[::draws]
    option = jnp.repeat(jnp.argmax(per_melody, -1) if temperature == 0 else
                        jax.random.categorical(option_key, per_melody / temperature), draws)
    copy = (option != bar_copies.NEW_BAR) & (option != bar_copies.LAST_BAR)
    copying = jnp.where(starts_bar, jnp.where(copy, option - 1, -1), bar.copying)
    kind = jnp.where(starts_bar, jnp.where(copy, bar_copies.COPY, bar_copies.NEW), bar.kind)
    last = jnp.where(starts_bar, option == bar_copies.LAST_BAR, bar.last)
    matching = jnp.where(starts_bar[:, None], heard.ahead != model_inputs.NO_LOOKBACK,
                         bar.matching)
    logits = jnp.take_along_axis(heard.logits, kind[:, None, None], 1)[:, 0]
    if form_ends:
      logits = logits.at[:, model_inputs.TUNE_END].add(jnp.where(last, np.log(END_TILT), 0.0))
    token, share = choose(logits, token_key)
    copied = jnp.take_along_axis(heard.ahead, jnp.maximum(copying, 0)[:, None], 1)[:, 0]
    copy_now = (copying >= 0) & (copied != model_inputs.NO_LOOKBACK)
    if ends_copies:
      p_end = jax.nn.softmax(logits / max(temperature, 1e-6))[:, model_inputs.TUNE_END]
      copied = jnp.where(jax.random.bernoulli(jax.random.fold_in(option_key, 1), p_end),
                         model_inputs.TUNE_END, copied)
    token = jnp.where(copy_now, copied, token)
    return (token, jnp.where(copy_now, 1.0, share),
            Bar(jnp.where(copy_now, copying, -1), kind, matching & (heard.ahead == token[:, None]),
                recent, last))

  def settle(carry, bar, step):
    ends_bar = bar_positions[:, jnp.minimum(step + 1, bar_positions.shape[1] - 1)] == 0
    kept = ((bar.copying >= 0) | ~jnp.any(bar.matching, -1)).reshape(-1, draws)
    first = jnp.repeat(jnp.arange(0, rows, draws) + jnp.argmax(kept, 1), draws)
    source = jnp.where(ends_bar & (step + 1 < bar_positions.shape[1]), first, jnp.arange(rows))
    return jax.tree.map(lambda values: values[source], carry)

  return step_token, settle


def form(bar: Bar) -> jax.Array:
  """(rows, RECENT_BARS) targets of the bar under way (as far as it has gone) and those
  before it: what a form_decisions model reads after its last step."""
  bits = jnp.sum(bar.matching * (1 << jnp.arange(bar.matching.shape[-1])), -1)
  return bar_copies.pushed(bar.recent, jnp.where(bar.kind == bar_copies.UNKNOWN, 0, 1 + bits))


def no_bar(rows: int) -> Bar:
  """``bar`` before a melody's first bar line: no copy, no decision, no bar before."""
  return Bar(jnp.full((rows,), -1), jnp.full((rows,), bar_copies.UNKNOWN),
             jnp.zeros((rows, len(model_inputs.LOOKBACK_BARS)), bool),
             jnp.zeros((rows, bar_copies.RECENT_BARS), jnp.int32), jnp.zeros((rows,), bool))
