"""The key of some notes (Krumhansl-Schmuckler): the major or minor key profile that correlates
best with their pitch-class counts. Scale membership alone cannot tell a major key from its
relative minor. Used by the whole-tune statistics (a tune's tonic) and by the key_degree input.

No JAX here: the samplers pass ``jax.numpy`` in as ``xp``.
"""

from __future__ import annotations

import numpy as np

# Krumhansl & Kessler's key profiles (major, minor), from C: how well each pitch class fits.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

# Key scores that agree to this many decimals are a tie, which the first key (C major first)
# wins however the scores were summed.
TIE_DECIMALS = 9

# Every key's profile (C major to B major, then C minor to B minor), centred: a correlation
# with them is a dot product over norms.
KEY_PROFILES = np.stack([np.roll(profile, root) for profile in (MAJOR_PROFILE, MINOR_PROFILE)
                         for root in range(12)])
_CENTRED_PROFILES = KEY_PROFILES - KEY_PROFILES.mean(1, keepdims=True)
_PROFILE_NORMS = np.linalg.norm(_CENTRED_PROFILES, axis=1)


def best_keys(counts, xp=np):
  """(..., 12) pitch-class counts (or shares) -> the index of each one's key in KEY_PROFILES
  (tonic: index % 12; minor: index >= 12); -1 where nothing is counted."""
  centred = counts - counts.mean(-1, keepdims=True)
  norms = xp.linalg.norm(centred, axis=-1, keepdims=True) * _PROFILE_NORMS
  scores = (centred @ _CENTRED_PROFILES.T.astype(centred.dtype)) / xp.where(norms > 0, norms, 1)
  best = xp.argmax(xp.round(scores, TIE_DECIMALS), -1)
  return xp.where(xp.any(counts != 0, -1), best, -1)
