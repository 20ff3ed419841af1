"""The shipped configs parse with train's flags, and melody_long.cfg is melody.cfg with a wider
LSTM (without the inputs added after it was measured)."""

import json
import subprocess
import sys

import pytest

from conftest import REPO

CONFIGS = sorted(p.name for p in (REPO / 'configs').glob('*.cfg'))

# Prints, as JSON, each flag file's values of train's flags (the files given as arguments).
PARSE = """
import json, sys
from absl import flags
from midi_rnn_jax import train
FLAGS, values = flags.FLAGS, {}
for config in sys.argv[1:]:
  FLAGS.unparse_flags()
  FLAGS(['train', '--flagfile=configs/' + config])
  values[config] = {name: FLAGS[name].value for name in FLAGS
                    if FLAGS.find_module_defining_flag(name) == train.__name__}
print(json.dumps(values, default=str))
"""


@pytest.fixture(scope='module')
def configs() -> dict:
  result = subprocess.run([sys.executable, '-c', PARSE, *CONFIGS], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  return json.loads(result.stdout)


def test_every_config_parses(configs):
  assert set(configs) == set(CONFIGS) >= {'default.cfg', 'melody.cfg', 'melody_long.cfg'}
  melody = configs['melody.cfg']
  assert melody['mode'] == 'sequence' and melody['tune_ends'] and melody['bar_number']
  assert configs['default.cfg']['mode'] == 'window'


def test_the_long_config_changes_only_the_width_the_dropout_and_the_tune_form_inputs(configs):
  melody, long = configs['melody.cfg'], configs['melody_long.cfg']
  changed = {name for name in melody if melody[name] != long[name]}
  assert changed == {'rnn_size', 'dropout', 'cadence', 'copy_bars', 'form_decisions', 'pace',
                     'form_ends'}
  assert (melody['cadence'] and melody['copy_bars'] and melody['form_decisions'] and melody['pace']
          and melody['form_ends'])
  assert long['rnn_size'] > melody['rnn_size'] and long['dropout'] > melody['dropout']
