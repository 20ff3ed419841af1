"""--midi_instrument: General MIDI names in any case, numbers, and helpful errors."""

import pytest

from midi_rnn_jax.generate import instruments
from midi_rnn_jax.errors import UserError


def test_names_in_any_case_and_numbers():
  assert instruments.program_number('Acoustic Grand Piano') == 0
  assert instruments.program_number('  flute ') == 73
  assert instruments.program_number('CELLO') == 42
  assert instruments.program_number('127') == 127
  assert instruments.program_number('0') == 0


def test_unknown_name_suggests_close_names():
  with pytest.raises(UserError, match=r"did you mean 'Violin'"):
    instruments.program_number('violn')
  with pytest.raises(UserError, match='out of range'):
    instruments.program_number('128')
  with pytest.raises(UserError, match='not a General MIDI instrument'):
    instruments.program_number('-3')
