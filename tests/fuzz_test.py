"""Fuzz: damaged MIDI files give tokens or a reason to skip them, never an exception or a hang.

  pytest tests/fuzz_test.py                           # 400 files, a few seconds (CI)
  FUZZ_EXAMPLES=20000 pytest tests/fuzz_test.py       # a longer run
"""

import os
import tempfile
import time

import numpy as np
from hypothesis import HealthCheck, event, given, settings, strategies as st

from conftest import LAKH_DIR
from midi_rnn_jax.data import encoding, parse_cache

SEEDS = [(LAKH_DIR / name).read_bytes() for name in sorted(os.listdir(LAKH_DIR))[:8]]
# Parsing a real file takes ~20 ms here; a damaged one must not take seconds.
SECONDS_PER_FILE = 2.0
HEADERS = 22


@st.composite
def damaged_midi(draw) -> bytes:
  data = bytearray(draw(st.sampled_from(SEEDS)))
  for _ in range(draw(st.integers(1, 4))):
    kind = draw(st.sampled_from(['flip', 'flip', 'flip', 'insert', 'delete', 'truncate',
                                 'repeat']))
    # Mostly past the headers (MThd, 14 bytes; the first MTrk, 8), so events get damaged.
    first = draw(st.sampled_from([0, HEADERS, HEADERS, HEADERS]))
    if first >= len(data):
      break
    at = draw(st.integers(first, len(data) - 1))
    if kind == 'flip':
      data[at] = draw(st.integers(0, 255))
    elif kind == 'insert':
      data[at:at] = draw(st.binary(min_size=1, max_size=16))
    elif kind == 'delete':
      del data[at:at + draw(st.integers(1, 16))]
    elif kind == 'truncate':
      del data[at:]
    else:  # A run of bytes copied elsewhere (a duplicated event or chunk header).
      data[at:at] = data[at:at + draw(st.integers(1, 64))] * draw(st.integers(1, 4))
    if not data:
      break
  return bytes(data)


@settings(max_examples=int(os.environ.get('FUZZ_EXAMPLES', 400)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_midi())
def test_a_damaged_file_gives_tokens_or_a_reason(data):
  with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, 'damaged.mid')
    with open(path, 'wb') as f:
      f.write(data)
    start = time.perf_counter()
    result = parse_cache.parse_to_cache(path, os.path.join(folder, 'cache.npz'),
                                        encoding.ReadingRules())
    assert time.perf_counter() - start < SECONDS_PER_FILE
    if isinstance(result, str):
      assert result.startswith(f'unreadable MIDI file {path}: ') and len(result) > len(path) + 25
      event(f'skipped: {result[len(path) + 22:].split(":")[0]}')
      return
    event(f'{len(result.track_lengths)} tracks of tokens')
    with np.load(result.cache_file) as cached:
      tokens, positions = cached['tokens'], cached['positions']
    assert len(tokens) == len(positions) == result.track_lengths.sum()
    assert tokens.max(initial=0) < encoding.NUM_CLASSES
    assert len(result.track_numbers) == len(result.track_lengths)
