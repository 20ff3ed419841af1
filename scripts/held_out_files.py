"""Links an experiment's validation files, as found in another version of its corpus, into a
folder: to score a model on the same held-out tunes read another way (for the folk corpus:
as written, repeats not played).

  python scripts/held_out_files.py EXPERIMENT_DIR OTHER_CORPUS OUT_DIR
  python scripts/held_out_files.py experiments/01 data/midi-written reproduced/written-val
"""

import json
import os
import sys

if __name__ == '__main__':
  experiment_dir, other, out = sys.argv[1:]
  config = json.load(open(os.path.join(experiment_dir, 'config.json')))
  split = json.load(open(os.path.join(experiment_dir, 'split.json')))
  linked = 0
  for path in split['validation']:
    source = os.path.join(other, os.path.relpath(path, config['data_dir']))
    if os.path.isfile(source):
      target = os.path.join(out, os.path.relpath(path, config['data_dir']))
      os.makedirs(os.path.dirname(target), exist_ok=True)
      if not os.path.lexists(target):
        os.symlink(os.path.abspath(source), target)
      linked += 1
  print(f'{linked} of {len(split["validation"])} validation files linked from {other} in {out}')
