"""Keys from pitch-class counts (Krumhansl-Schmuckler): for the evaluation's "ends home" and
for the ``scale_degree`` input, which reads the key of everything heard so far at every step.

No JAX here: the samplers pass ``jax.numpy`` in as ``xp``.
"""

from __future__ import annotations

import numpy as np

from midi_rnn_jax.data.encoding import REST

# Krumhansl & Kessler's key profiles (major, minor), from C: how well each pitch class fits.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _key_weights() -> np.ndarray:
  """(12, 24) integers: pitch-class counts @ weights ranks the 24 keys (C major ... B major,
  C minor ... B minor) as their profiles' correlations with the counts do (each profile
  centred and scaled to unit length), to three digits. Integers, so that numpy over a
  track and jax.numpy in a sampler find the same key, ties included."""
  columns = []
  for profile in (MAJOR_PROFILE, MINOR_PROFILE):
    centred = profile - profile.mean()
    columns += [np.roll(centred / np.linalg.norm(centred), root) for root in range(12)]
  return np.round(1000 * np.stack(columns, axis=1)).astype(np.int32)


KEY_WEIGHTS = _key_weights()


def pitch_class_counts(tokens, xp=np):
  """(..., steps) tokens -> (..., steps, 12) int32: 1 at each sounding step's pitch class."""
  sounding = (tokens > REST) & (tokens <= 128)
  return (((tokens[..., None] - 1) % 12 == xp.arange(12)) & sounding[..., None]).astype(xp.int32)


def key_of_counts(counts, xp=np):
  """(..., 12) pitch-class counts -> (tonic pitch class, 1 if minor, whether any note was
  counted), each (...,)."""
  key = xp.argmax(counts @ xp.asarray(KEY_WEIGHTS), axis=-1)
  return key % 12, key // 12, counts.sum(-1) > 0
