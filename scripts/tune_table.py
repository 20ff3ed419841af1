"""One table of the Tunes sections of several reports (report.json files): the generated
tunes of each, then the reference tunes of the first.

  python scripts/tune_table.py reproduced/tunes/seed0/report.json ...
"""

import json
import sys

from midi_rnn_jax.evaluation import tunes

if __name__ == '__main__':
  reports = [json.load(open(path))['tunes'] for path in sys.argv[1:]]
  columns = [r['generated'] for r in reports] + [reports[0]['reference']]
  print('| figure | ' + ' | '.join(f'seed {i}' for i in range(len(reports)))
        + ' | reference tunes |')
  print('|---' * (len(columns) + 1) + '|')
  print('| ended by the model | ' + ' | '.join(f'{c["ended_by_model"]:.2f}' for c in columns[:-1])
        + ' | |')
  for key, label in tunes.SUMMARY_LABELS.items():
    print(f'| {label} | ' + ' | '.join(tunes.formatted(c, key) for c in columns) + ' |')
