"""Where a model with tune ends puts the end, reading tunes teacher forced: the share of its
end probability at steps where ending would end home, and of its first end (the one a sampler
would stop at, had it sampled these notes), against where the tunes end.

  python scripts/end_placement.py EXPERIMENT [EXPERIMENT ...]       # the validation tunes
  python scripts/end_placement.py EXPERIMENT --tunes FOLDER [...]   # e.g. its own sampled tunes

Set beside the share of its own sampled tunes that end home (report's Tunes section), it
tells a model that misplaces its ends from one whose own notes lead it elsewhere. The mean end
probability at a step where ending would end home, and at any other step (second halves of
the tunes, their last step left out), tells whether its own tunes give it fewer places to end
home or a weaker wish to. The last column: at the step where each tune's last note starts, the
model's probability that the new note is the tonic (of the notes other than the one before):
whether it aims at the tonic before it ends.
"""

import sys

import jax
import numpy as np
from flax import nnx

from midi_rnn_jax import experiment, report
from midi_rnn_jax.data import bar_copies, encoding, model_inputs
from midi_rnn_jax.data.model_inputs import map_arrays
from midi_rnn_jax.evaluation import scoring, tunes

HEADER = ('| experiment | tunes read | tunes | end probability per tune | its share where ending '
          'is home | share a sampler would end by their last step | of those ends, home | the '
          'tunes\' own ends, home | mean end probability, second halves but the last step: home step '
          '/ other step | the tonic\'s share of a new note where the last note starts |')


def tunes_in(folder: str, config: dict) -> tuple[list, list]:
  """(tracks, meters) of the tunes ``sample`` wrote to ``folder``, read as ``report`` reads
  them for its Tunes figures."""
  melodies = report.generated_melodies(folder, config['steps_per_quarter']).values()
  return [m.tokens for m in melodies], [m.meter for m in melodies]


def one_track_batch(track: model_inputs.StepInputs) -> model_inputs.StepInputs:
  """One track's inputs as a batch of one, padded to a power of two steps: few shapes to
  compile."""
  padded = 1 << int(np.ceil(np.log2(len(track.tokens))))
  return map_arrays(lambda a: np.pad(a, [(0, padded - len(a))] + [(0, 0)] * (a.ndim - 1))[None],
                    track)


def one_track_outputs(model):
  """``track -> model.every_step_outputs`` of one track's inputs (``one_track_batch``), read
  teacher forced; a form_decisions model's decisions read the form of the bars before, from
  the track's copy targets, as evaluate's do."""

  @jax.jit
  def outputs(inputs, copies):
    recent = bar_copies.recent_targets(copies)[0] if model.form_decisions else None
    return model.every_step_outputs(inputs, recent=recent)

  def of_track(track):
    batch = one_track_batch(track)
    copies = np.zeros_like(batch.tokens)
    if model.bar_copy_head is not None:
      copies[0, :len(track.tokens)] = bar_copies.copy_targets(
          track.tokens, track.bar_position, model.form_decisions)
    return outputs(batch, copies)

  return of_track


def tonic_at_last_note(graphdef, params, model_tracks, tracks) -> float:
  """The mean, over tunes, of the model's probability that the note starting where the tune's
  last note starts is the tonic of the tune's key, among the notes other than the one before."""
  outputs = one_track_outputs(nnx.merge(graphdef, params))
  pitch_classes = (np.arange(model_inputs.TUNE_END + 1) - 1) % 12
  shares = []
  for track, tokens in zip(model_tracks, tracks):
    first, _ = tunes.last_note(tokens)
    # Input step ``first`` (after the start mark) predicts the tune's step ``first``.
    p = np.array(jax.nn.softmax(outputs(track)[0])[0, first], np.float64)
    p[[encoding.REST, int(track.tokens[first]), model_inputs.TUNE_END]] = 0.0
    shares.append(p[pitch_classes == tunes.tonic(tokens)].sum() / p.sum())
  return float(np.mean(shares))


def end_probabilities(graphdef, params, model_tracks, tracks) -> list[np.ndarray]:
  """Per tune (its ``model_tracks``, read teacher forced, and its ``tracks``' tokens): the
  model's end probability after each step, scored before its last step, then after it."""
  scores = scoring.whole_track_scores(graphdef, params, model_tracks, window_size=1,
                                      tune_ends=True)
  offsets = np.cumsum([0] + [len(tokens) - 1 for tokens in tracks])
  return [np.append(scores.end_before[start:stop], scores.end_at_end[index])
          for index, (start, stop) in enumerate(zip(offsets[:-1], offsets[1:]))]


def row(experiment_dir: str, config, graphdef, params, name: str, tracks, meters) -> str:
  names = model_inputs.of_config(config)
  model_tracks = [model_inputs.model_track(t, m, names, True) for t, m in zip(tracks, meters)]
  mass = home_mass = first = home_first = 0.0
  own_ends_home, late_home, late_other = [], [], []
  for tokens, meter, p_end in zip(tracks, meters,
                                  end_probabilities(graphdef, params, model_tracks, tracks)):
    home = tunes.home_after_each_step(tokens, meter)
    own_ends_home.append(home[-1])  # The tune's own end: ends_home of the whole tune.
    first_end = p_end * np.concatenate([[1.0], np.cumprod(1.0 - p_end)[:-1]])
    mass, home_mass = mass + p_end.sum(), home_mass + p_end @ home
    first, home_first = first + first_end.sum(), home_first + first_end @ home
    # Where it could have ended, its own end left out: the second half, but the last step.
    late = slice(len(tokens) // 2, len(tokens) - 1)
    late_home.append(p_end[late][home[late]])
    late_other.append(p_end[late][~home[late]])
  return (f'| {experiment_dir} | {name} | {len(tracks)} | {mass / len(tracks):.3f} | '
          f'{home_mass / mass:.3f} | {first / len(tracks):.3f} | {home_first / first:.3f} | '
          f'{np.mean(own_ends_home):.3f} | {np.concatenate(late_home).mean():.4f} / '
          f'{np.concatenate(late_other).mean():.4f} | '
          f'{tonic_at_last_note(graphdef, params, model_tracks, tracks):.3f} |')


def main(experiment_dir: str, folders: list[str]) -> None:
  config, graphdef, params = experiment.load_model(experiment_dir, 'best')
  if not folders:
    tracks, meters = experiment.validation_tunes(experiment_dir, config, config['cache_dir'], print)
    print(row(experiment_dir, config, graphdef, params, 'validation', tracks, meters))
  for folder in folders:
    print(row(experiment_dir, config, graphdef, params, folder, *tunes_in(folder, config)))


if __name__ == '__main__':
  print(HEADER)
  print('|---' * 10 + '|')
  if '--tunes' in sys.argv:
    main(sys.argv[1], sys.argv[sys.argv.index('--tunes') + 1:])
  else:
    for path in sys.argv[1:]:
      main(path, [])
