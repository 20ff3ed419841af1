"""What the model reads with each step: its token, and the inputs it was built with.

Each input is declared once, in ``INPUTS``: how it is computed from a track's tokens and bar
positions (one function, used on whole tracks in numpy and one step at a time inside the
samplers), which of its columns are pitches that move with a transposition, and the one-hot
kernels the model learns for it. Its values travel as one ``StepInputs`` value through batching,
transposition, the model's input projection, scoring and both samplers; its train flag and
config key are its name. docs/how-it-works.md ("Adding an input") walks through one.

No JAX here: the samplers pass ``jax.numpy`` in as ``xp``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from midi_rnn_jax.data.encoding import MAX_BAR_STEPS, NUM_CLASSES


class StepInputs(NamedTuple):
  """Per input step: its token, and each input of INPUTS the model was built with (None for
  the others). A pytree: arrays are (..., steps) for an input of one value per step, and
  (..., steps, columns) for one of several."""
  tokens: Any
  bar_position: Any = None  # uint8: the step's index in its bar
  lookback: Any = None  # uint8 (..., 2 * len(LOOKBACK_BARS)): lookback tokens, then repeat flags
  bar_number: Any = None  # uint8: the step's bar, counted from the track's start (bar_numbers)
  extra_lookback: Any = None  # uint8: as lookback, for EXTRA_LOOKBACK_BARS
  held_steps: Any = None  # uint8: the steps before this one with its token, up to MAX_HELD_STEPS
  tune_phase: Any = None  # uint8: steps since the last step at the track's first bar position
  repeat_match: Any = None  # uint8 (..., 3): the longest repeat's next token, length, distance
  cadence: Any = None  # uint8: the last note's degree in the key so far, and if it started early
  pace: Any = None  # uint8: the notes and rests begun in the last PACE_STEPS steps, / PACE_BUCKET


def map_arrays(fn: Callable, *trees):
  """``fn`` applied to the arrays at one place of each of ``trees`` (NamedTuples of arrays, or
  of such NamedTuples, as a Batch holds StepInputs); None stays None."""
  first = trees[0]
  if first is None:
    return None
  if isinstance(first, tuple):
    return type(first)(*(map_arrays(fn, *fields) for fields in zip(*trees)))
  return fn(*trees)


# Lookback inputs (after Magenta's lookback RNN): with each input step, the tokens that the
# step it predicts had these many bars earlier, so repeating an earlier bar or phrase is a copy,
# not a memory; and whether the input step itself repeats those bars (Magenta's repeat flags).
LOOKBACK_BARS = (1, 2, 4, 8)
# The distances at which the folk tunes repeat most of the bars that LOOKBACK_BARS miss
# (docs/results.md, "Whole-bar copies").
EXTRA_LOOKBACK_BARS = (3, 6, 12, 16)


# The lookback token where the track has no step that many bars back.
NO_LOOKBACK = NUM_CLASSES

# With --tune_ends, the 130th class: read as an input it says "a tune starts here"; as a
# target, "the tune has ended". Each track is read between two of them (``tune_track``). As a
# lookback token (a step before the tune) it is NO_LOOKBACK, which is what it means there.
TUNE_END = NUM_CLASSES


def num_classes(tune_ends: bool) -> int:
  """The classes a model reads and predicts: 129 notes and rest, and TUNE_END with tune ends."""
  return NUM_CLASSES + bool(tune_ends)


def tune_start(tokens: np.ndarray, positions: np.ndarray, first_position: int, bar_length: int
               ) -> tuple[np.ndarray, np.ndarray]:
  """``tokens`` and their bar ``positions`` after the TUNE_END mark that starts a tune: read
  as the step before the tune's first (at ``first_position`` in a bar of ``bar_length``), so
  every tune starts from the same input and its first step is predicted too."""
  return (np.concatenate([[TUNE_END], tokens]).astype(np.uint8),
          np.concatenate([[(first_position - 1) % bar_length], positions]).astype(np.uint8))


def tune_track(tokens: np.ndarray, positions: np.ndarray, bar_lengths: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
  """A whole tune's tokens between two TUNE_END marks, and their bar positions: the first mark
  starts it (``tune_start``), the last is the target after its last step."""
  tokens, positions = tune_start(tokens, positions, int(positions[0]), int(bar_lengths[0]))
  after = (int(positions[-1]) + 1) % int(bar_lengths[-1])
  return (np.append(tokens, TUNE_END).astype(np.uint8),
          np.append(positions, after).astype(np.uint8))


def step_indices(positions: np.ndarray) -> np.ndarray:
  """(..., steps) bar positions -> each step's index in its track."""
  return np.broadcast_to(np.arange(np.shape(positions)[-1]), np.shape(positions))


def bars_back(positions: np.ndarray, bars: int = max(LOOKBACK_BARS)) -> np.ndarray:
  """(..., steps) bar positions -> (..., steps, bars): the index of the step at the same place
  of the bar 1, 2, ..., ``bars`` bars earlier, or -1 where the track has none. Bar lengths come
  from the positions themselves (a bar's last position), so meter changes and pickups count."""
  positions = np.asarray(positions, np.int64)
  index = step_indices(positions)
  earlier = []
  for _ in range(bars):
    safe = np.maximum(index, 0)
    previous_bar_end = safe - np.take_along_axis(positions, safe, -1) - 1
    previous_bar_length = np.take_along_axis(positions, np.maximum(previous_bar_end, 0), -1) + 1
    index = np.where((index >= 0) & (previous_bar_end >= 0),
                     np.maximum(safe - previous_bar_length, -1), -1)
    earlier.append(index)
  return np.stack(earlier, -1)


def lookback_index(positions: np.ndarray, distances: tuple[int, ...] = LOOKBACK_BARS
                   ) -> np.ndarray:
  """(..., steps) bar positions -> (..., steps, 2 * len(distances)): for each input step,
  the steps ``distances`` bars before the step after it (the one it predicts; -1 after the
  last), then the steps ``distances`` bars before itself; -1 where there is none."""
  back = bars_back(positions, max(distances))[..., [bars - 1 for bars in distances]]
  return np.concatenate([of_next_step(back), back], axis=-1)


def of_next_step(index: np.ndarray) -> np.ndarray:
  """(..., steps, n) indices found for each step -> those of the step after it (-1 after the
  last): what an input step reads about the step it predicts."""
  after_last = np.full(index.shape[:-2] + (1, index.shape[-1]), -1)
  return np.concatenate([index[..., 1:, :], after_last], axis=-2)


def lookback_features(looked_up, tokens, xp=np):
  """The lookback inputs of input steps, from ``looked_up`` (..., 2 * distances):
  the tokens at their ``lookback_index`` (-1 where it is -1), and the steps' own ``tokens``
  (...,): the tokens before the next step (NO_LOOKBACK where none), then 1 where the step
  repeats the token that many bars before it, else 0. ``xp``: numpy, or jax.numpy inside a
  sampler, which looks up one step at a time."""
  num_bars = looked_up.shape[-1] // 2
  ahead = looked_up[..., :num_bars]
  return xp.concatenate([xp.where(ahead >= 0, ahead, NO_LOOKBACK),
                         looked_up[..., num_bars:] == tokens[..., None]], axis=-1)


# Bars counted by ``bar_numbers``; later bars all read as the last.
MAX_BAR_NUMBER = 63


def bar_numbers(positions: np.ndarray) -> np.ndarray:
  """(..., steps) bar positions -> the number of each step's bar from the track's start: 0
  before its first bar line (a pickup, or a tune's start mark), then 1, 2, ... up to
  MAX_BAR_NUMBER."""
  return np.minimum(np.cumsum(np.asarray(positions) == 0, axis=-1), MAX_BAR_NUMBER)


def tune_phases(positions: np.ndarray) -> np.ndarray:
  """(..., steps) bar positions -> how many steps each step is past the last step at the bar
  position the track starts at (with tune ends, its start mark's: one step before the
  tune's first), up to MAX_BAR_STEPS - 1: the bar as counted from a tune's pickup, whose
  phrases, and most tunes, end where that bar is complete."""
  positions = np.asarray(positions)
  steps = np.arange(positions.shape[-1])
  at_start = positions == positions[..., :1]
  last_start = np.maximum.accumulate(np.where(at_start, steps, 0), axis=-1)
  return np.minimum(steps - last_start, MAX_BAR_STEPS - 1)


# Steps counted by ``held_steps``: two bars of 4/4; longer holds all read as this.
MAX_HELD_STEPS = 32


def steps_before(positions: np.ndarray) -> np.ndarray:
  """(..., steps) -> (..., steps, MAX_HELD_STEPS): the index of each of the steps 1, 2, ...
  MAX_HELD_STEPS before each step, -1 before the track's first."""
  index = np.arange(positions.shape[-1])[:, None] - np.arange(1, MAX_HELD_STEPS + 1)
  return np.broadcast_to(np.maximum(index, -1), positions.shape + (MAX_HELD_STEPS,))


def _held_steps_of(plan, look_up, tokens, xp):
  """How many steps in a row, just before each step, had its token: how long the note (or the
  rest) it holds has lasted."""
  same = look_up(plan) == tokens[..., None]
  return xp.sum(xp.cumprod(same, axis=-1), axis=-1)


def _the_plan(plan, look_up, tokens, xp):
  del look_up, tokens, xp  # The value is the plan itself (a bar position, a bar number).
  return plan


def _lookback_of(plan, look_up, tokens, xp):
  return lookback_features(look_up(plan), tokens, xp)


# ``repeat_match`` looks for repeats of the bars 1 to MATCH_BARS back (every distance at which
# the tunes repeat bars, with none of the four lookbacks' gaps), over the last MATCH_STEPS steps:
# four bars of 4/4, so that a bar played a third time reads apart from a bar played twice.
# 64 steps gave 0.5133 nats against 16's 0.5148 (docs/results.md, "What did each input buy?").
MATCH_BARS = 16
MATCH_STEPS = 64


def match_index(positions: np.ndarray) -> np.ndarray:
  """(..., steps) bar positions -> (..., steps, 1 + 2 * MATCH_BARS): each step's own index,
  the steps at its place 1, ..., MATCH_BARS bars back, and those before the step after it
  (-1 where there is none)."""
  back = bars_back(positions, MATCH_BARS)
  own = np.broadcast_to(np.arange(back.shape[-2])[:, None], back.shape[:-1] + (1,))
  return np.concatenate([own, back, of_next_step(back)], -1)


def _repeat_match_of(plan, look_up, tokens, xp):
  """The repeat in progress: for each distance k of 1..MATCH_BARS, how many of the last
  MATCH_STEPS steps (back from this one, in a row) equal the steps as far before the step k bars
  back; of the longest (the nearest of equals), the token it has after this step, the length,
  and k. NO_LOOKBACK, 0, 0 where no distance repeats this step."""
  del tokens  # The step's own token is looked up with the steps before it.
  offsets = xp.arange(MATCH_STEPS)

  def last_steps(index):  # (..., n) -> the tokens at index, index - 1, ...: (..., n, MATCH_STEPS)
    moved = index[..., None] - offsets
    moved = xp.where((index[..., None] >= 0) & (moved >= 0), moved, -1)
    flat = look_up(moved.reshape(moved.shape[:-2] + (-1,)))
    return flat.reshape(moved.shape), moved >= 0

  own, _ = last_steps(plan[..., :1])
  back, exists = last_steps(plan[..., 1:MATCH_BARS + 1])
  run = xp.sum(xp.cumprod((back == own) & exists, axis=-1), axis=-1)
  nearest_longest = xp.argmax(run, axis=-1)
  length = xp.max(run, axis=-1)
  after = xp.take_along_axis(look_up(plan[..., MATCH_BARS + 1:]), nearest_longest[..., None],
                             -1)[..., 0]
  token = xp.where((length > 0) & (after >= 0), after, NO_LOOKBACK)
  return xp.stack([token, length, xp.where(length > 0, nearest_longest + 1, 0)], -1)


# ``cadence`` finds the key of the last CADENCE_STEPS steps: a whole tune, for all but the
# longest (the sampler's default --file_length is 1,000).
CADENCE_STEPS = 1024
# Its value where no note has sounded yet (else 2 * degree + 1 where the note started early).
NO_CADENCE = 24
# Its value where the tune would end home: on its tonic, started early in its bar
# (evaluation.tunes.ends_home).
HOME_CADENCE = 1


# Krumhansl & Kessler's key profiles (major, minor), from C: how well each pitch class fits
# (evaluation.tunes finds a tune's key with them too).
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# The profiles centred and times 1200, which makes them whole numbers: a key's score is then an
# exact integer dot product with the pitch-class counts, over the profile's norm, so numpy and
# a jitted sampler find the same key.
_CENTRED = np.rint(1200 * np.stack([profile - profile.mean() for profile in
                                    (MAJOR_PROFILE, MINOR_PROFILE)])).astype(np.int32)
_KEYS = np.stack([np.roll(profile, root) for profile in _CENTRED for root in range(12)])
_KEY_NORMS = np.repeat(np.linalg.norm(_CENTRED, axis=1), 12).astype(np.float32)


def key_tonic(counts, xp=np):
  """(..., 12) int pitch-class counts -> the pitch class of their key (Krumhansl-Schmuckler,
  as evaluation.tunes.tonics, from integer scores: where two keys nearly tie the two may
  differ; the first of equal keys, C major first)."""
  scores = (counts.astype(xp.int32) @ xp.asarray(_KEYS.T)).astype(xp.float32)
  return xp.argmax(scores / xp.asarray(_KEY_NORMS), axis=-1) % 12


def bar_lengths(positions: np.ndarray) -> np.ndarray:
  """(..., steps) bar positions -> each step's bar length: its bar's last position + 1; in a
  bar cut short by the track's end, at least the bar before's."""
  positions = np.asarray(positions, np.int64)
  lengths = np.empty_like(positions)
  for row, out in zip(positions.reshape(-1, positions.shape[-1]),
                      lengths.reshape(-1, positions.shape[-1])):
    bars = [bar for bar in np.split(row, np.flatnonzero(row == 0)) if len(bar)]
    own = [int(bar.max()) + 1 for bar in bars]
    if len(own) > 1:
      own[-1] = max(own[-1], own[-2])
    out[:] = np.repeat(own, [len(bar) for bar in bars])
  return lengths


def cadence_plan(positions: np.ndarray) -> np.ndarray:
  """(..., steps) bar positions -> (..., steps, 3): each step's index, bar position and bar
  length."""
  positions = np.asarray(positions, np.int64)
  return np.stack([step_indices(positions), positions, bar_lengths(positions)], -1)


def _cadence_of(plan, look_up, tokens, xp):
  """Where the tune would end if it ended after each step: 2 * the degree of its last note
  in the key (``key_tonic``) of the last CADENCE_STEPS steps, + 1 if that note started in the
  first half of its bar (counted back from the step in bars of its length); NO_CADENCE before
  the first note. Whole tracks in numpy read running counts; a sampler, the window."""
  step, position, length = plan[..., 0], plan[..., 1], plan[..., 2]
  if xp is np:
    last_note, start, counts = _track_notes(np.asarray(tokens, np.int64), step)
    token = tokens[np.maximum(last_note, 0)]
    back, sounded = step - start, last_note >= 0
  else:
    window = look_up(step[..., None] - xp.arange(CADENCE_STEPS))  # -1 before the track
    sounding = (window > 0) & (window < NUM_CLASSES)  # Not a rest, nor a tune's start mark.
    counts = xp.sum((((window - 1) % 12)[..., None] == xp.arange(12)) & sounding[..., None], -2)
    newest = xp.argmax(sounding, -1)  # Steps back to the last sounding step.
    token = xp.take_along_axis(window, newest[..., None], -1)[..., 0]
    held = xp.where(xp.arange(CADENCE_STEPS) >= newest[..., None], window == token[..., None],
                    True)
    back, sounded = xp.sum(xp.cumprod(held, -1), -1) - 1, xp.any(sounding, -1)
  early = 2 * ((position - back) % length) < length
  degree = ((token - 1) % 12 - key_tonic(counts, xp)) % 12
  return xp.where(sounded, 2 * degree + early, NO_CADENCE)


def last_notes(tokens: np.ndarray, sounding: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Of a whole track's ``tokens`` (1-D), for each step: the index of the last ``sounding``
  step up to it (-1: none yet), and the step where that step's note (its run of equal tokens)
  starts."""
  steps = np.arange(len(tokens))
  last = np.maximum.accumulate(np.where(sounding, steps, -1))
  changes = np.concatenate([[True], tokens[1:] != tokens[:-1]])
  return last, np.maximum.accumulate(np.where(changes, steps, 0))[np.maximum(last, 0)]


def _track_notes(tokens: np.ndarray, step: np.ndarray):
  """Of a whole track, for each step: the index of the last sounding step (-1: none, or none
  in the last CADENCE_STEPS steps), where its note starts (within those steps), and the
  pitch-class counts of those steps."""
  sounding = (tokens > 0) & (tokens < NUM_CLASSES)  # Not a rest, nor a tune's start mark.
  running = np.concatenate([np.zeros((1, 12), np.int64), np.cumsum(
      (((tokens - 1) % 12)[:, None] == np.arange(12)) & sounding[:, None], 0)])
  counts = running[step + 1] - running[np.maximum(step + 1 - CADENCE_STEPS, 0)]
  last, start = last_notes(tokens, sounding)
  last = np.where(step - last < CADENCE_STEPS, last, -1)
  return last, np.maximum(start, step - CADENCE_STEPS + 1), counts


# ``pace`` counts the notes and rests begun in the last PACE_STEPS steps (four bars of 4/4), in
# buckets of PACE_BUCKET: a style the notes keep whatever their form (a reel runs in eighths, a
# song moves in quarters), which a form decision can read (bar_copies.form_features).
PACE_STEPS = 64
PACE_BUCKET = 4
NUM_PACES = PACE_STEPS // PACE_BUCKET + 1


def _pace_of(plan, look_up, tokens, xp):
  """How many of the last PACE_STEPS steps (this one and those before it in its track) begin a
  note or a rest (differ from the step before), in buckets of PACE_BUCKET."""
  del tokens  # The step's own token is looked up with the steps before it.
  window = look_up(plan[..., None] - xp.arange(PACE_STEPS + 1))  # -1 before the track
  begun = (window[..., :-1] != window[..., 1:]) & (window[..., 1:] >= 0)
  return xp.sum(begun, -1) // PACE_BUCKET


@dataclasses.dataclass(frozen=True)
class Kernel:
  """A block of the model's first-layer input kernel: the parameter ``param`` holds one
  (classes, 4H) one-hot kernel for each of ``columns`` columns of the input (0: the input has
  no column axis, and the parameter is one (classes, 4H) kernel)."""
  param: str
  columns: int
  classes: int


@dataclasses.dataclass(frozen=True)
class Input:
  """One per-step input: the StepInputs field, train flag and config key ``name``."""
  name: str
  help: str
  # Bar positions (..., steps) -> what each step's value is read from (numpy, before any jit).
  plan: Callable[[np.ndarray], np.ndarray]
  # (plan rows, look_up, the steps' tokens, xp) -> the steps' values; ``look_up(index)``: the
  # track's tokens at ``index`` (-1 where it is -1).
  read: Callable
  kernels: tuple[Kernel, ...]
  pitched: int = 0  # Leading columns that hold pitch tokens: a transposition moves them.
  needs: str | None = None  # An input it is found from, which the model must also have.
  looks_back: bool = False  # Whether ``read`` looks up earlier tokens.


def lookback_input(name: str, help_: str, distances: tuple[int, ...], kernel_prefix: str
                   ) -> Input:
  """An input of the tokens ``distances`` bars back and the repeat flags (``lookback_index``),
  with a one-hot kernel per distance for each (``kernel_prefix`` names them)."""
  return Input(name, help_, plan=functools.partial(lookback_index, distances=distances),
               read=_lookback_of,
               kernels=(Kernel(f'{kernel_prefix}lookback_kernel', len(distances), NO_LOOKBACK + 1),
                        Kernel(f'{kernel_prefix}repeat_kernel', len(distances), 2)),
               pitched=len(distances), needs='bar_position', looks_back=True)


INPUTS = (
    Input('bar_position', 'Also feed the model each step\'s position in its bar (from the MIDI '
          'time signatures; 4/4 without one).',
          plan=lambda positions: positions, read=_the_plan,
          kernels=(Kernel('position_kernel', 0, MAX_BAR_STEPS),)),
    lookback_input('lookback', 'Also feed the model, with each step, the tokens the step it '
                   'predicts had 1, 2, 4 and 8 bars earlier, and whether the step repeats them '
                   '(after Magenta\'s lookback RNN), so it can repeat a bar or a phrase by '
                   'copying it. Needs --bar_position.', LOOKBACK_BARS, ''),
    Input('bar_number', 'Also feed the model the number of each step\'s bar, counted from its '
          'track\'s (its tune\'s) start, up to 63: where a phrase, a part or a tune may end. '
          'Needs --bar_position.',
          plan=bar_numbers, read=_the_plan,
          kernels=(Kernel('bar_number_kernel', 0, MAX_BAR_NUMBER + 1),), needs='bar_position'),
    lookback_input('extra_lookback', 'Also feed the model, as --lookback does, the tokens 3, '
                   '6, 12 and 16 bars earlier and the repeat flags: the distances of most of the '
                   'repeated bars that 1, 2, 4 and 8 miss. Needs --bar_position.',
                   EXTRA_LOOKBACK_BARS, 'extra_'),
    Input('held_steps', 'Also feed the model how many steps before each step held its token '
          '(up to 32): how long the note or the rest has lasted, read instead of counted by '
          'the LSTM.',
          plan=steps_before, read=_held_steps_of,
          kernels=(Kernel('held_steps_kernel', 0, MAX_HELD_STEPS + 1),), looks_back=True),
    Input('tune_phase', 'Also feed the model how many steps each step is past the last step at '
          'the bar position its tune starts at: its bar as counted from the tune\'s pickup, '
          'where phrases, and most tunes, end. Needs --bar_position.',
          plan=tune_phases, read=_the_plan,
          kernels=(Kernel('tune_phase_kernel', 0, MAX_BAR_STEPS),), needs='bar_position'),
    Input('repeat_match', f'Also feed the model the repeat in progress: of the bars 1 to '
          f'{MATCH_BARS} back, the one whose steps the last {MATCH_STEPS} steps repeat longest, '
          'with the token it has next (copied too with --copy_lookback), the length of the '
          'repeat and its distance. Needs --bar_position.',
          plan=match_index, read=_repeat_match_of,
          kernels=(Kernel('match_token_kernel', 1, NO_LOOKBACK + 1),
                   Kernel('match_length_kernel', 1, MATCH_STEPS + 1),
                   Kernel('match_distance_kernel', 1, MATCH_BARS + 1)),
          pitched=1, needs='bar_position', looks_back=True),
    Input('cadence', 'Also feed the model, with each step, the degree of the last note in the '
          'key of the notes so far (Krumhansl-Schmuckler, up to 1,024 steps back) and whether '
          'that note started in the first half of its bar: whether the tune would end home if '
          'it ended there. Needs --bar_position.',
          plan=cadence_plan, read=_cadence_of,
          kernels=(Kernel('cadence_kernel', 0, NO_CADENCE + 1),), needs='bar_position',
          looks_back=True),
    Input('pace', f'Also feed the model how many notes and rests began in the last {PACE_STEPS} '
          'steps (in fours): the style\'s pace, a reel\'s eighths or a song\'s quarters, which '
          '--form_decisions read too: whether a tune repeats its strains.',
          plan=step_indices, read=_pace_of, kernels=(Kernel('pace_kernel', 0, NUM_PACES),),
          looks_back=True),
)
NAMES = tuple(i.name for i in INPUTS)
assert NAMES == StepInputs._fields[1:], 'each input is a StepInputs field, in order'


def of_config(config: dict) -> tuple[str, ...]:
  """The inputs an experiment's model reads (configs from before an input existed: not it)."""
  return tuple(name for name in NAMES if config.get(name, False))


def track_inputs(tokens: np.ndarray, positions: np.ndarray, names: tuple[str, ...]
                 ) -> StepInputs:
  """StepInputs of every step of one track (each read as an input step): its tokens, and the
  inputs ``names`` from its tokens and bar ``positions``."""
  history = np.asarray(tokens, np.int64)  # Room for the -1 of "none".

  def look_up(index):
    return np.where(index >= 0, history[np.maximum(index, 0)], -1)

  return StepInputs(np.asarray(tokens, np.uint8), **{
      i.name: np.asarray(i.read(i.plan(positions), look_up, history, np), np.uint8)
      for i in INPUTS if i.name in names})


def model_track(tokens: np.ndarray, meter, names: tuple[str, ...], tune_ends: bool
                ) -> StepInputs:
  """``track_inputs`` of a track (its tokens and its encoding.Meter) as a model with
  ``tune_ends`` reads it: between TUNE_END marks, or as it is."""
  positions = meter.positions
  if tune_ends:
    tokens, positions = tune_track(tokens, positions, meter.bar_lengths)
  return track_inputs(tokens, positions, names)


def own_steps(track: StepInputs, tune_ends: bool) -> StepInputs:
  """A ``model_track`` without its TUNE_END marks: the track's own steps, each with the inputs
  the model reads with it in the whole tune (a tune phase counts from the start mark)."""
  return map_arrays(lambda values: values[1:-1], track) if tune_ends else track


def sampler_plans(names: tuple[str, ...], positions: np.ndarray) -> dict[str, np.ndarray]:
  """The plans of the inputs ``names`` for the steps a sampler reads (bar ``positions``
  (batch, steps)), found in numpy before the jitted sampler runs."""
  return {i.name: i.plan(positions) for i in INPUTS if i.name in names}


def step_inputs(names: tuple[str, ...], plans: dict, history, token, step: int, xp
                ) -> StepInputs:
  """StepInputs of the token a sampler reads at ``step``: ``history`` (batch, steps) holds
  every token read so far (None when no input of ``names`` looks back)."""

  def look_up(index):
    return xp.where(index >= 0, xp.take_along_axis(history, xp.maximum(index, 0), 1), -1)

  return StepInputs(token, **{i.name: i.read(plans[i.name][:, step], look_up, token, xp)
                              for i in INPUTS if i.name in names})


def looks_back(names: tuple[str, ...]) -> bool:
  return any(i.looks_back for i in INPUTS if i.name in names)
