#!/usr/bin/env bash
# Train with configs/melody.cfg (the recommended sequence model; CONFIG=configs/default.cfg
# for the original midi-rnn's model) in a project virtual environment (.venv, made on first
# use). Extra flags pass through:
#   bash run_train.sh --data_dir path/to/midi -m "first try"
# Without --data_dir it trains on data/midi/, and builds the default folk-tune
# corpus there first when the folder holds no MIDI file.
set -euo pipefail
cd "$(dirname "$0")"
source .ci/ensure_venv.sh
if [[ " $* " != *" --data_dir"* ]] && [ -z "$(find data/midi -name '*.mid' -print -quit)" ]; then
  ensure_corpus_extra
  python -m midi_rnn_jax.corpus --out_dir data/midi
fi
exec python -m midi_rnn_jax.train --flagfile="${CONFIG:-configs/melody.cfg}" "$@"
