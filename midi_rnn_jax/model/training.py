"""Pure training pieces: optimizers, the jitted train and eval steps, the plateau rule."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from midi_rnn_jax.data import bar_copies, encoding
from midi_rnn_jax.errors import UserError
from midi_rnn_jax.model import lstm
from midi_rnn_jax.data.input_pipeline import Batch

# name -> (optax constructor, the original's (Keras) default learning rate)
OPTIMIZERS = {
    'sgd': (optax.sgd, 0.01),
    'rmsprop': (optax.rmsprop, 0.001),
    'adagrad': (optax.adagrad, 0.01),
    'adadelta': (functools.partial(optax.adadelta, rho=0.95), 1.0),
    'adam': (optax.adam, 0.001),
    'adamax': (optax.adamax, 0.002),
    'nadam': (optax.nadam, 0.002),
}


# Training steps per jitted call (Steps.train_steps): amortizes Python dispatch, which is
# most of a small model's step time on a CPU.
STEPS_PER_CALL = 16
# The NLL of a uniform guess over the classes: where an untrained model starts. A model that
# scores worse has diverged.
UNIFORM_NLL = math.log(encoding.NUM_CLASSES)


def default_learning_rate(optimizer: str) -> float:
  return OPTIMIZERS[optimizer][1]


def make_optimizer(name: str, learning_rate: float, grad_clip: float) -> optax.GradientTransformation:
  """Clip by global norm (``grad_clip`` 0: no clipping, as in Keras), then the named optimizer
  with an adjustable learning rate."""
  optimizer = optax.inject_hyperparams(OPTIMIZERS[name][0])(learning_rate=learning_rate)
  clip = optax.clip_by_global_norm(grad_clip) if grad_clip > 0 else optax.identity()
  return optax.chain(clip, optimizer)


class TrainState(NamedTuple):
  step: jax.Array
  params: nnx.State
  opt_state: optax.OptState


def learning_rate(state: TrainState) -> float:
  return float(state.opt_state[1].hyperparams['learning_rate'])


def with_learning_rate(state: TrainState, value: float) -> TrainState:
  clip_state, inject_state = state.opt_state
  hyperparams = {**inject_state.hyperparams, 'learning_rate': jnp.asarray(value, jnp.float32)}
  return state._replace(opt_state=(clip_state, inject_state._replace(hyperparams=hyperparams)))


# The sizes a config must hold to rebuild its model and read its data, each a whole number of
# at least 1: a config.json or model file edited by hand, cut short or of another version is
# then one clear error, not a traceback from inside the model.
CONFIG_SIZES = ('rnn_size', 'num_layers', 'window_size', 'steps_per_quarter')
# The model modes' names (model/modes.MODES, which asserts it), as a config may name them.
MODE_NAMES = ('window', 'sequence')


def check_config(config, source: str) -> dict:
  """``config``, or a UserError naming ``source`` and the first value that cannot rebuild its
  model: an unknown mode, a size that is not a whole number of at least 1, a dropout outside
  [0, 1), an option that is not true or false, or (in the sequence mode) a sequence length
  that is not a size."""
  if not isinstance(config, dict):
    raise UserError(f'{source} is not a config (a JSON object)')

  def size(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1

  if config.get('mode', 'window') not in MODE_NAMES:
    raise UserError(f'{source}: mode must be one of {", ".join(MODE_NAMES)}, not '
                    f'{config["mode"]!r}')
  sizes = CONFIG_SIZES + (('sequence_length',) if config.get('mode') == 'sequence' else ())
  for key in sizes:
    if not size(config.get(key)):
      found = repr(config[key]) if key in config else 'missing'
      raise UserError(f'{source}: {key} must be a whole number of at least 1, not {found}')
  dropout = config.get('dropout')
  if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
    found = repr(dropout) if 'dropout' in config else 'missing'
    raise UserError(f'{source}: dropout must be a number from 0 to below 1, not {found}')
  for option in lstm.OPTIONS:
    if not isinstance(config.get(option, False), bool):
      raise UserError(f'{source}: {option} must be true or false, not {config[option]!r}')
  return config


def build_model(rnn_size: int, num_layers: int, dropout: float, seed: int, **options: bool
                ) -> lstm.MelodyLSTM:
  return lstm.MelodyLSTM(rnn_size=rnn_size, num_layers=num_layers, dropout=dropout,
                         rngs=nnx.Rngs(seed), **options)


def model_of_config(config: dict, seed: int) -> lstm.MelodyLSTM:
  """The architecture an experiment's config describes (options its config does not name, as in
  experiments from before they existed, are off), initialised from ``seed``."""
  return build_model(config['rnn_size'], config['num_layers'], config['dropout'], seed,
                     **{option: config.get(option, False) for option in lstm.OPTIONS})


def model_from_config(config: dict) -> tuple[nnx.GraphDef, nnx.State]:
  """``model_of_config`` split into graph and parameters (the shape to restore a checkpoint
  into)."""
  return nnx.split(model_of_config(config, seed=0), nnx.Param)


def param_shapes(tree) -> dict[str, tuple[int, ...]]:
  """Each parameter's name (its path, as ``layers.0.input_kernel``) -> its shape, of an
  nnx.State, a pure dict or orbax's metadata of either."""
  def name(path) -> str:
    keys = [str(getattr(k, 'key', getattr(k, 'name', getattr(k, 'idx', k)))) for k in path]
    return '.'.join(keys[:-1] if keys[-1] == 'value' else keys)
  return {name(path): tuple(leaf.shape) for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


def shape_mismatch(params, stored_shapes: dict) -> str | None:
  """Where stored parameters (``param_shapes``) cannot fill ``params``, the model a config
  describes: its first such parameter, said; None where they fit."""
  for name, shape in param_shapes(params).items():
    if stored_shapes.get(name) != shape:
      found = f'is {stored_shapes[name]}' if name in stored_shapes else 'is missing'
      return f'its parameter {name} {found}, the config\'s model has {shape}'
  return None


class Metrics(NamedTuple):
  """Sums over weighted windows; divide by ``count`` for means. With copy_bars, also the bar
  decisions' NLL summed over their ``copy_count`` (else 0)."""
  loss: jax.Array
  correct: jax.Array
  count: jax.Array
  copy_loss: jax.Array = 0.0
  copy_count: jax.Array = 0.0

  @classmethod
  def zero(cls) -> 'Metrics':
    return cls(*(jnp.zeros((), jnp.float32) for _ in cls._fields))

  def __add__(self, other: 'Metrics') -> 'Metrics':
    return Metrics(*(a + b for a, b in zip(self, other)))

  def means(self) -> dict[str, float]:
    count = max(float(self.count), 1.0)
    copies = ({'copy_loss': float(self.copy_loss) / float(self.copy_count)}
              if float(self.copy_count) else {})
    return {'loss': float(self.loss) / count, 'accuracy': float(self.correct) / count, **copies}


def batch_metrics(logits: jax.Array, batch: Batch, copy_logits: jax.Array | None = None,
                  copy_known: jax.Array | None = None) -> Metrics:
  """The batch's summed metrics; with ``copy_logits`` (a copy_bars model's), also the NLL of
  its bar decisions: of the set of options each bar fits (bar_copies.option_sets), those where
  ``copy_known`` (when given: a form_decisions model's) is true, the bar a tune ends in counted
  new, or last with a LAST_BAR option (a copy, in ``batch.bar_copies``, for the steps of the
  bar)."""
  losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch.targets.astype(jnp.int32))
  correct = jnp.argmax(logits, -1) == batch.targets
  copy_loss = copy_count = jnp.zeros((), jnp.float32)
  if copy_logits is not None:
    decided = (batch.bar_copies > 0) * batch.weights
    decisions = batch.bar_copies
    if copy_known is not None:
      decided = decided * copy_known
      decisions = bar_copies.form_decision_targets(
          batch.targets, decisions, copy_logits.shape[-1] > bar_copies.NUM_OPTIONS)
    fits = bar_copies.option_sets(decisions, jnp, copy_logits.shape[-1])
    nll = (jax.nn.logsumexp(copy_logits, -1)
           - jax.nn.logsumexp(jnp.where(fits, copy_logits, -1e9), -1))
    copy_loss, copy_count = jnp.sum(nll * decided), jnp.sum(decided)
  return Metrics(jnp.sum(losses * batch.weights), jnp.sum(correct * batch.weights),
                 jnp.sum(batch.weights), copy_loss, copy_count)


@dataclasses.dataclass(frozen=True)
class Steps:
  """The jitted steps of one model architecture and optimizer."""
  train_step: Callable[[TrainState, Batch, jax.Array], tuple[TrainState, 'Metrics']]
  # The same step applied to each of k stacked batches in one call (a lax.scan), so the
  # Python dispatch cost is paid once per k steps; results equal k train_step calls.
  train_steps: Callable[[TrainState, Batch, jax.Array], tuple[TrainState, 'Metrics']]
  eval_step: Callable[[nnx.State, Batch], 'Metrics']


# (model, batch, dropout key) -> (logits of Batch.targets, copy_bars' decision logits or None,
# and a form_decisions model's decisions whose form is known, or None: batch_metrics).
LogitsFn = Callable[[lstm.MelodyLSTM, Batch, jax.Array | None],
                    tuple[jax.Array, jax.Array | None, jax.Array | None]]


def window_logits(model: lstm.MelodyLSTM, batch: Batch, rng: jax.Array | None
                  ) -> tuple[jax.Array, None, None]:
  """The logits of the step after each window of the batch (the window mode)."""
  return model(batch.inputs, rng), None, None


def every_step_logits(model: lstm.MelodyLSTM, batch: Batch, rng: jax.Array | None
                      ) -> tuple[jax.Array, jax.Array | None, jax.Array | None]:
  """The logits of the step after every input step of the batch (the sequence mode), and a
  copy_bars model's decision logits after every step (its steps told the kind of their bar);
  a form_decisions model's read the form of the bars before, and count where it is known."""
  if batch.bar_copies is None:
    return *model.every_step_outputs(batch.inputs, rng, batch.starts), None
  kinds = bar_copies.bar_kinds(batch.bar_copies, batch.starts)
  recent, known = (bar_copies.recent_targets(batch.bar_copies, batch.starts)
                   if model.form_decisions else (None, None))
  return *model.every_step_outputs(batch.inputs, rng, batch.starts, kinds, recent), known


# The mesh axis a data-parallel batch is split along.
DATA_AXIS = 'data'


def make_steps(graphdef: nnx.GraphDef, tx: optax.GradientTransformation,
               logits_fn: LogitsFn = window_logits, mesh: jax.sharding.Mesh | None = None
               ) -> Steps:
  """``logits_fn(model, batch, dropout_rng)``: the logits for ``batch.targets``, the last
  step's (``window_logits``, the default) or every step's (``every_step_logits``).

  With a ``mesh`` (a DATA_AXIS over several devices) the steps run data parallel under
  ``shard_map``: each device takes its share of every batch, and the gradient and metric sums
  are added across devices (``lax.psum``) before the optimizer update, which every device
  applies to its replica of the parameters; the step divides by the whole batch's weight, so
  it computes the one-device step (up to the order of float sums; each device draws its own
  dropout masks). Without a mesh no collective is compiled.
  """

  def total(tree):
    return jax.tree.map(lambda x: jax.lax.psum(x, DATA_AXIS), tree) if mesh else tree

  def loss_fn(params, batch: Batch, rng, batch_weight):
    logits, copy_logits, copy_known = logits_fn(nnx.merge(graphdef, params), batch, rng)
    metrics = batch_metrics(logits, batch, copy_logits, copy_known)
    # A bar decision weighs as much as one step's prediction.
    return (metrics.loss + metrics.copy_loss) / jnp.maximum(batch_weight, 1.0), metrics

  def step(state: TrainState, batch: Batch, rng: jax.Array):
    step_rng = jax.random.fold_in(rng, state.step)
    if mesh:
      step_rng = jax.random.fold_in(step_rng, jax.lax.axis_index(DATA_AXIS))
    batch_weight = total(jnp.sum(batch.weights))
    grads, metrics = jax.grad(loss_fn, has_aux=True)(state.params, batch, step_rng,
                                                     batch_weight)
    grads, metrics = total(grads), total(metrics)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return TrainState(state.step + 1, params, opt_state), metrics

  def steps(state: TrainState, batches: Batch, rng: jax.Array):
    state, metrics = jax.lax.scan(lambda s, b: step(s, b, rng), state, batches)
    return state, jax.tree.map(functools.partial(jnp.sum, axis=0), metrics)

  def evaluation(params, batch: Batch) -> Metrics:
    logits, copy_logits, copy_known = logits_fn(nnx.merge(graphdef, params), batch, None)
    return total(batch_metrics(logits, batch, copy_logits, copy_known))

  def data_parallel(fn, in_specs):
    """``fn`` with its batch split across the mesh and all else replicated."""
    if not mesh:
      return fn
    return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=P(), check_vma=False)

  P = jax.sharding.PartitionSpec
  return Steps(jax.jit(data_parallel(step, (P(), P(DATA_AXIS), P())), donate_argnums=0),
               jax.jit(data_parallel(steps, (P(), P(None, DATA_AXIS), P())), donate_argnums=0),
               jax.jit(data_parallel(evaluation, (P(), P(DATA_AXIS)))))


def init_state(model: lstm.MelodyLSTM, tx: optax.GradientTransformation
               ) -> tuple[nnx.GraphDef, TrainState]:
  graphdef, params = nnx.split(model, nnx.Param)
  return graphdef, TrainState(jnp.zeros((), jnp.int32), params, tx.init(params))


def cosine_rate(initial: float, epoch: int, num_epochs: int) -> float:
  """The learning rate of ``epoch`` (from 1) under the cosine schedule: ``initial`` in the
  first epoch, down along half a cosine towards 0 after the last."""
  return initial * 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / num_epochs))


@dataclasses.dataclass(frozen=True)
class Plateau:
  """Keras' ReduceLROnPlateau: scale the learning rate when the loss stalls."""
  best: float = float('inf')
  epochs_without_improvement: int = 0
  patience: int = 3
  factor: float = 0.5
  min_delta: float = 1e-4

  def update(self, loss: float) -> tuple['Plateau', bool]:
    """The next state, and whether to scale the learning rate now."""
    if loss < self.best - self.min_delta:
      return dataclasses.replace(self, best=loss, epochs_without_improvement=0), False
    waited = self.epochs_without_improvement + 1
    if waited >= self.patience:
      return dataclasses.replace(self, epochs_without_improvement=0), True
    return dataclasses.replace(self, epochs_without_improvement=waited), False
