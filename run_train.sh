#!/usr/bin/env bash
# Train with configs/default.cfg (the original midi-rnn's defaults) in a project
# virtual environment (.venv, made on first use). Extra flags pass through:
#   bash run_train.sh --data_dir path/to/midi -m "first try"
set -euo pipefail
cd "$(dirname "$0")"
source .ci/ensure_venv.sh
exec python -m midi_rnn_jax.train --flagfile=configs/default.cfg "$@"
