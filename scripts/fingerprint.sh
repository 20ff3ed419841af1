#!/usr/bin/env bash
# Hashes of what short training runs make: the exported parameters, sampled melodies and
# evaluate's figures, for the window default and configs/melody.cfg, both with --transpose.
# A change that must leave every result as it was prints the same lines before and after:
#   bash scripts/fingerprint.sh > before.txt; (change); bash scripts/fingerprint.sh | diff before.txt -
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/data"
# 30 files of the Lakh subset: a run of each config takes well under a minute.
files=(data/lakh-midi-rnn/*.mid)
cp "${files[@]:0:30}" "$work/data/"
for config in window melody; do
  flags=()
  if [ "$config" = melody ]; then flags=(--flagfile=configs/melody.cfg); fi
  out="$work/$config"
  python -m midi_rnn_jax.train "${flags[@]}" --data_dir="$work/data" --cache_dir="$work/cache" \
      --experiment_dir="$out" --num_epochs=2 --transpose=5 --n_jobs=1 > "$out.log" 2>&1 \
    || { cat "$out.log"; exit 1; }
  python -m midi_rnn_jax.export --experiment_dir="$out" --out="$out.msgpack" --num_primes=4 \
      > /dev/null 2>&1
  python -m midi_rnn_jax.evaluate --experiment_dir="$out" --cache_dir="$work/cache" > /dev/null 2>&1
  python -m midi_rnn_jax.sample --experiment_dir="$out" --num_files=3 --file_length=200 --seed=1 \
      --save_dir="$out-samples" > /dev/null 2>&1
  python -m midi_rnn_jax.sample --model="$out.msgpack" --num_files=2 --file_length=100 --seed=2 \
      --primer_notes='C4,D4,E4:2,G4:4' --temperature=0.8 --save_dir="$out-primed" > /dev/null 2>&1
  # The model file's parameters and prime windows (its config names this run's folders).
  echo "$config parameters $(python -c "import sys; from flax import serialization as s
d = s.msgpack_restore(open(sys.argv[1], 'rb').read())
sys.stdout.buffer.write(s.msgpack_serialize({k: d[k] for k in ('params', 'primes')}))" \
      "$out.msgpack" | sha256sum | cut -c1-16)"
  echo "$config evaluate $(python -c "import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({k: d[k] for k in sorted(d) if 'lstm' in k}, sort_keys=True))" "$out/eval/validation.json" | sha256sum | cut -c1-16)"
  echo "$config samples $(cat "$out"-samples/*.mid "$out"-primed/*.mid | sha256sum | cut -c1-16)"
done
