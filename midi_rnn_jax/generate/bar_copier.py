"""The sampling side of whole-bar copies (data/bar_copies.py): a copy_bars model's decisions at
bar lines, its copied bars, and its new bars drawn from those that are no copy."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from midi_rnn_jax.data import bar_copies, model_inputs

# Candidates drawn side by side for each new bar of a copy_bars model (``make``).
NEW_BAR_DRAWS = 4


def make(choose: Callable, temperature: float, bar_positions: jax.Array, draws: int,
         ends_copies: bool = False) -> tuple[Callable, Callable]:
  """``(step_token, settle)`` for a copy_bars model whose melodies each run on ``draws``
  consecutive rows, its candidates. ``step_token(heard, bar, step, key) -> (token, share,
  bar)`` (``heard``: a samplers.Heard): where ``step`` starts a bar, the model decides (its
  copy logits at ``temperature``, once per melody) whether the bar is new or a copy; a copy's
  tokens are those of the bar it copies; a new bar's are chosen (``choose``) from the steps' logits for a new bar, by each
  candidate on its own. ``settle(carry, bar, step)``: where a bar ends, every candidate
  becomes the first one that did not play a copy of a bar the decision could have named (the
  data calls such a bar a copy, not new), or the first if all did: a new bar is drawn from the
  new bars that are no copy. ``bar``: the copy under way (-1: none), the bar's kind
  (bar_copies.bar_kinds), per lookback whether the bar has equalled it so far, and the
  targets of the bars before it (bar_copies.recent_targets; ``form``: with the bar's own).
  ``ends_copies``: a copied bar's step is the tune's end as likely as the model ends it there
  (a form decision, which cannot see the end coming, may copy the bar a tune ends in)."""
  rows = bar_positions.shape[0]

  def step_token(heard, bar, step, key):
    copying, kind, matching, recent = bar
    option_key, token_key = jax.random.split(key)
    starts_bar = bar_positions[:, step] == 0
    recent = jnp.where(starts_bar[:, None], form(bar), recent)
    per_melody = heard.copy_logits[::draws]
    option = jnp.repeat(jnp.argmax(per_melody, -1) if temperature == 0 else
                        jax.random.categorical(option_key, per_melody / temperature), draws)
    copying = jnp.where(starts_bar, option - 1, copying)
    kind = jnp.where(starts_bar, jnp.where(option == bar_copies.NEW_BAR, bar_copies.NEW,
                                           bar_copies.COPY), kind)
    matching = jnp.where(starts_bar[:, None], heard.ahead != model_inputs.NO_LOOKBACK, matching)
    logits = jnp.take_along_axis(heard.logits, kind[:, None, None], 1)[:, 0]
    token, share = choose(logits, token_key)
    copied = jnp.take_along_axis(heard.ahead, jnp.maximum(copying, 0)[:, None], 1)[:, 0]
    copy_now = (copying >= 0) & (copied != model_inputs.NO_LOOKBACK)
    if ends_copies:
      p_end = jax.nn.softmax(logits / max(temperature, 1e-6))[:, model_inputs.TUNE_END]
      copied = jnp.where(jax.random.bernoulli(jax.random.fold_in(option_key, 1), p_end),
                         model_inputs.TUNE_END, copied)
    token = jnp.where(copy_now, copied, token)
    return (token, jnp.where(copy_now, 1.0, share),
            (jnp.where(copy_now, copying, -1), kind, matching & (heard.ahead == token[:, None]),
             recent))

  def settle(carry, bar, step):
    copying, _, matching, _ = bar
    ends_bar = bar_positions[:, jnp.minimum(step + 1, bar_positions.shape[1] - 1)] == 0
    kept = ((copying >= 0) | ~jnp.any(matching, -1)).reshape(-1, draws)
    first = jnp.repeat(jnp.arange(0, rows, draws) + jnp.argmax(kept, 1), draws)
    source = jnp.where(ends_bar & (step + 1 < bar_positions.shape[1]), first, jnp.arange(rows))
    return jax.tree.map(lambda values: values[source], carry)

  return step_token, settle


def form(bar) -> jax.Array:
  """(rows, RECENT_BARS) targets of the bar under way (as far as it has gone) and those
  before it: what a form_decisions model reads after its last step."""
  _, kind, matching, recent = bar
  bits = jnp.sum(matching * (1 << jnp.arange(matching.shape[-1])), -1)
  return bar_copies.pushed(recent, jnp.where(kind == bar_copies.UNKNOWN, 0, 1 + bits))


def no_bar(rows: int) -> tuple:
  """``bar`` before a melody's first bar line: no copy, no decision, no bar before."""
  return (jnp.full((rows,), -1), jnp.full((rows,), bar_copies.UNKNOWN),
          jnp.zeros((rows, len(model_inputs.LOOKBACK_BARS)), bool),
          jnp.zeros((rows, bar_copies.RECENT_BARS), jnp.int32))
