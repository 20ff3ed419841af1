"""Runs every sampling example the README shows, 10 files each, on one experiment, and prints a
table: degenerate files (as `sample` warns of them), the pitches the files use against the
training melodies' range, and `report`'s statistics beside the reference excerpts'.

  python scripts/sampling_examples.py experiments/01        # writes experiments/01/examples/
"""

import json
import os
import subprocess
import sys

import numpy as np

from midi_rnn_jax import experiment, report
from midi_rnn_jax.data import cached_tracks, encoding, parse_cache
from midi_rnn_jax.evaluation import stats

# name -> the flags of one README example (each also gets --num_files 10 and a --seed).
EXAMPLES = {
    'default (run_sample.sh)': [],
    'file_length 256': ['--file_length=256'],
    'primer, D major, top_k 10': ['--primer_notes=D4,E4,F#4:2,_,A4:4', '--key=D',
                                  '--scale=major', '--top_k=10'],
    'temperature 0.9': ['--temperature=0.9'],
    'temperature 0.5': ['--temperature=0.5'],
    'top_p 0.9': ['--top_p=0.9'],
    'top_k 10': ['--top_k=10'],
    'tune end rules': ['--home_ending=1.5', '--min_length=48'],
}
SUMMARY = ('scale_consistency', 'pitches_used', 'pitch_range', 'bar_repetition', 'rest_ratio')


def run(*args: str) -> None:
  subprocess.run([sys.executable, '-m', *args], check=True, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)


def main(experiment_dir: str) -> None:
  config = experiment.load_config(experiment_dir)
  rules = encoding.ReadingRules.of_config(config)
  records = parse_cache.read_records(experiment.training_files(experiment_dir),
                                     config['cache_dir'], 1, print, rules)
  training = np.concatenate(cached_tracks.all_tracks(records, config['window_size']))
  lowest, highest = (int(p) - 1 for p in (training[training > 0].min(), training.max()))
  print(f'training melodies: MIDI pitches {lowest}-{highest}')
  print('| example | degenerate files | ended by the model | pitches used (lowest-highest) | '
        + ' | '.join(SUMMARY) + ' |')
  print('|---' * (4 + len(SUMMARY)) + '|')
  for name, flags in EXAMPLES.items():
    out = os.path.join(experiment_dir, 'examples', name.split(' (')[0].replace(' ', '_')
                       .replace(',', ''))
    run('midi_rnn_jax.sample', f'--experiment_dir={experiment_dir}', f'--save_dir={out}',
        '--num_files=10', '--seed=0', *flags)
    run('midi_rnn_jax.report', f'--experiment_dir={experiment_dir}', f'--generated_dir={out}',
        '--num_excerpts=100')
    melodies = report.generated_melodies(out, config['steps_per_quarter'])
    degenerate = sum(bool(stats.degeneration(m.tokens)) for m in melodies.values())
    pitches = np.concatenate([m.tokens[m.tokens > 0] for m in melodies.values()]).astype(int) - 1
    figures = json.load(open(os.path.join(experiment_dir, 'report', 'report.json')))
    generated, reference = figures['generated'], figures['reference']
    ended = figures['tunes']['generated']['ended_by_model']
    print(f'| {name} ({len(melodies)} files) | {degenerate} | {ended:.0%} | '
          f'{pitches.min()}-{pitches.max()} | '
          + ' | '.join(f'{generated[k]:.3g} ({reference[k]:.3g})' for k in SUMMARY) + ' |')


if __name__ == '__main__':
  main(sys.argv[1])
