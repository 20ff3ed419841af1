"""What a training run reports after every epoch: one console line, and TensorBoard scalars,
a sampled melody's piano roll and its audio (written by process 0 only)."""

from __future__ import annotations

import numpy as np
from tensorboardX import SummaryWriter
from tensorboardX.proto import summary_pb2

from midi_rnn_jax import console
from midi_rnn_jax.data import cached_tracks
from midi_rnn_jax.generate import priming, render
from midi_rnn_jax.model import modes


def log_epoch(writer: SummaryWriter | None, epoch: int, config: dict, train_metrics: dict,
              val_metrics: dict, lr: float, per_second: float, seconds: float) -> None:
  unit = modes.of(config).unit
  scalars = {'loss/train': train_metrics['loss'], 'accuracy/train': train_metrics['accuracy'],
             'loss/validation': val_metrics['loss'], 'accuracy/validation': val_metrics['accuracy'],
             'learning_rate': lr, f'{unit}_per_second': per_second,
             **{f'copy_loss/{split}': metrics['copy_loss']
                for split, metrics in (('train', train_metrics), ('validation', val_metrics))
                if 'copy_loss' in metrics}}
  copies = (f' | bar copies: train {train_metrics["copy_loss"]:.4f} val '
            f'{val_metrics["copy_loss"]:.4f}' if 'copy_loss' in val_metrics else '')
  if writer:  # Only process 0 of a multi-process run writes logs.
    for name, value in scalars.items():
      writer.add_scalar(name, value, epoch)
    writer.flush()
  console.log(f'epoch {epoch}/{config["num_epochs"]}: train loss {train_metrics["loss"]:.4f} '
              f'acc {train_metrics["accuracy"]:.4f} | val loss {val_metrics["loss"]:.4f} '
              f'acc {val_metrics["accuracy"]:.4f}{copies} | lr {lr:.3g} | {per_second:.0f} '
              f'{unit}/s | {seconds:.1f} s')


MELODY_STEPS = 64  # The melody sampled for TensorBoard after every epoch.


def log_melody(writer: SummaryWriter, epoch: int, tokens: np.ndarray, steps_per_quarter: int):
  """The epoch's sampled melody (up to its end, for a model with tune ends) as a piano-roll
  image and as audio in TensorBoard."""
  tokens = tokens[:priming.tune_length(tokens)]
  writer.add_figure('melody/piano_roll', render.piano_roll_figure(
      tokens, f'epoch {epoch}', steps_per_quarter=steps_per_quarter), epoch)
  samples = render.synthesize(tokens, steps_per_quarter=steps_per_quarter)
  # tensorboardX's add_audio needs the soundfile package; the WAV is written here instead.
  audio = summary_pb2.Summary.Audio(
      sample_rate=render.SAMPLE_RATE, num_channels=1, length_frames=len(samples),
      encoded_audio_string=render.wav_bytes(samples), content_type='audio/wav')
  writer._get_file_writer().add_summary(  # pylint: disable=protected-access
      summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag='melody/audio', audio=audio)]),
      epoch)
  writer.flush()


def tensorboard_prime(record, config: dict) -> tuple[np.ndarray, np.ndarray]:
  """The primer (tokens and bar positions) of the melody sampled after every epoch: a window of
  a validation track, or (with tune ends) a tune's start."""
  window_size = config['window_size']
  tracks = cached_tracks.load_tracks_and_meters(record, window_size)
  rng = np.random.default_rng(config['seed'])
  if config.get('tune_ends', False):
    primer = priming.as_tune_opening(priming.openings(*tracks, 1, window_size, rng)[0], 0)
  else:
    (primer,) = priming.choose_primes(*tracks, 1, window_size, rng)
  return priming.stack_primes([priming.prime_for(modes.of(config), primer, window_size)],
                              MELODY_STEPS)
