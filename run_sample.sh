#!/usr/bin/env bash
# Generate melodies (10 files of 1000 16th notes, each with a piano-roll PNG and a WAV)
# from the most recent experiment (or the shipped model before any training),
# in the project's virtual environment. Extra flags pass through:
#   bash run_sample.sh --experiment_dir experiments/01 --temperature 0.8
set -euo pipefail
cd "$(dirname "$0")"
source .ci/ensure_venv.sh
exec python -m midi_rnn_jax.sample --render "$@"
