#!/usr/bin/env bash
# Reruns the measurement behind one table of docs/results.md or docs/speed.md, from the
# repository alone (the folk corpus is built first when it is missing).
#   bash scripts/reproduce.sh TABLE      # TABLE: one of the names listed by --list
# Quality tables train for minutes to tens of minutes on 2 cores; speed tables want an idle
# machine (nothing else running) and, for the PyTorch peer, a separate virtual environment:
#   python -m venv ../torch-venv && ../torch-venv/bin/pip install torch==2.13.0 numpy
set -euo pipefail
cd "$(dirname "$0")/.."
TABLES="folk folk-long folk-before folk-written lakh folk-window lakh-window melodies tunes copy-bars corpus-tunes speed speed-peer"
table=${1:---list}
out=${OUT:-reproduced/$table}
torch_python=${TORCH_PYTHON:-../torch-venv/bin/python}

folk_corpus() {
  [ -d data/midi/essen ] || python -m midi_rnn_jax.corpus
}

# The folk corpus as written (repeats not played), as it was built before 2026-11-30.
written_corpus() {
  [ -d data/midi-written/essen ] || python -m midi_rnn_jax.corpus --repeats=written \
    --out_dir=data/midi-written
}

# train FLAGS... : trains into $out/exp, then scores it on its validation files.
train_and_evaluate() {
  rm -rf "$out/exp"
  mkdir -p "$out"
  python -m midi_rnn_jax.train --experiment_dir="$out/exp" "$@"
  python -m midi_rnn_jax.evaluate --experiment_dir="$out/exp"
}

# sample_tunes EXP : 100 tunes per seed at temperature 1 (seeds 0 1 2, or SEEDS="0 1 ... 9"),
# each ended by the model (with sample's end rules: SAMPLE_FLAGS="--home_ending=1.5
# --min_length=48"), reported against EXP's validation tunes; the seeds' table, then the
# seeds pooled beside the validation tunes' spread over random sets of as many tunes, by length
# band, how often they come home to the key they open in, how far back their repeats are and
# where they end (of every seed folder in $out).
sample_tunes() {
  local seeds=${SEEDS:-0 1 2} folders=()
  for seed in $seeds; do
    folders+=("$out/seed$seed")
    python -m midi_rnn_jax.sample --experiment_dir="$1" --num_files=100 --seed=$seed \
        --save_dir="$out/seed$seed" ${SAMPLE_FLAGS:-}
    python -m midi_rnn_jax.report --experiment_dir="$1" --generated_dir="$out/seed$seed" \
        --reference=validation
    cp "$1/report/report.json" "$out/seed$seed/report.json"
  done
  python scripts/tune_table.py "${folders[@]/%//report.json}"
  python scripts/tune_spread.py "$1" "${folders[@]}"
  python scripts/tune_groups.py --by length "$1" "${folders[@]}"
  python scripts/tune_groups.py --by pace "$1" "${folders[@]}"
  python scripts/key_drift.py "$1" "${folders[@]}"
  python scripts/repeat_distances.py "$1" "$out/seed[0-9]*"
  python scripts/end_bars.py "$1" "$out/seed[0-9]*"
}

case "$table" in
  --list) echo "$TABLES" ;;
  # results.md, "Which config, what NLL": the recommended config on the folk corpus (another
  # training of it: TRAIN_FLAGS=--seed=1 OUT=reproduced/folk-seed1).
  folk) folk_corpus; train_and_evaluate --flagfile=configs/melody.cfg ${TRAIN_FLAGS:-} ;;
  # results.md: the same with a twice as wide LSTM (256 units), the lowest NLL.
  folk-long) folk_corpus; train_and_evaluate --flagfile=configs/melody_long.cfg ;;
  # speed.md, "How fast does the recommended model train?": the recommended config of the
  # morning of 2026-11-30 (924cf24: batch 32, padded chunks, constant rate, 20 epochs), as it
  # was, on today's folk corpus: the time and NLL to beat. Run on an idle machine.
  folk-before)
    folk_corpus
    rm -rf "$out"; mkdir -p "$out"
    git worktree add --detach "$out/code" 924cf24
    rm -rf "$out/code/data/midi"; ln -s "$PWD/data/midi" "$out/code/data/midi"
    exp="$PWD/$out/exp"
    (cd "$out/code" && time python -m midi_rnn_jax.train --flagfile=configs/melody.cfg \
       --experiment_dir="$exp" && python -m midi_rnn_jax.evaluate --experiment_dir="$exp")
    git worktree remove --force "$out/code" ;;
  # results.md: the folk model (the shipped one; EXP=reproduced/folk-long/exp: the long one) on its
  # validation tunes as written (repeats not played).
  folk-written)
    exp=${EXP:-reproduced/folk/exp}
    [ -d "$exp" ] || { echo "run: bash scripts/reproduce.sh folk (or folk-long)" >&2; exit 2; }
    written_corpus
    python scripts/held_out_files.py "$exp" data/midi-written "$out/validation"
    python -m midi_rnn_jax.evaluate --experiment_dir="$exp" --data_dir="$out/validation" ;;
  # results.md, "Do its tunes look like the tunes?": 100 tunes per seed of the folk model
  # (the shipped one; EXP=reproduced/folk-long/exp for the long one) at temperature 1, each ended by the
  # model, against the validation tunes.
  tunes)
    exp=${EXP:-reproduced/folk/exp}
    [ -d "$exp" ] || { echo "run: bash scripts/reproduce.sh folk (or folk-long)" >&2; exit 2; }
    sample_tunes "$exp" ;;
  # results.md, "Whole-bar copies": melody.cfg with 512-step rows of 2, 18 epochs from 0.002
  # (melody_long.cfg of then; without the held steps, the tune phase, the repeat match and the
  # cadence, as measured) with the bar copies, scored, then
  # its tunes as above. Flags for the table's other rows: FLAGS="..." (FLAGS=--nobar_number for
  # its first row, FLAGS=" " for the bar numbers alone).
  copy-bars)
    folk_corpus
    train_and_evaluate --flagfile=configs/melody.cfg --sequence_length=512 --batch_size=2 \
      --num_epochs=18 --learning_rate=0.002 --noheld_steps --notune_phase --norepeat_match \
      --nocadence --nocopy_bars ${FLAGS:---copy_bars}
    sample_tunes "$out/exp" ;;
  # results.md, "The folk corpus, as written and as played".
  corpus-tunes) folk_corpus; written_corpus
                python scripts/corpus_tunes.py data/midi-written data/midi ;;
  # results.md: the recommended config on the Lakh subset, with its small-folder settings
  # (as measured: melody.cfg of cd6e6d2, with its rows, batch and rate, and every track read).
  lakh) train_and_evaluate --flagfile=configs/melody.cfg --data_dir=data/lakh-midi-rnn \
          --dropout=0.3 --transpose=5 --num_epochs=40 --batch_size=32 --lr_schedule=plateau \
          --sequence_length=128 --learning_rate=0.002 --cpu_devices=1 --notune_ends \
          --nobar_number --noheld_steps --notune_phase --norepeat_match --nocadence --nocopy_bars \
          --polyphony=skip --tracks=all ;;
  # results.md: the original's window model (the defaults).
  folk-window) folk_corpus; train_and_evaluate --flagfile=configs/default.cfg ;;
  lakh-window) train_and_evaluate --flagfile=configs/default.cfg --data_dir=data/lakh-midi-rnn ;;
  # results.md, "Melodies": 100 melodies per seed of the folk model, against its validation tunes.
  melodies)
    [ -d "reproduced/folk/exp" ] || { echo "run: bash scripts/reproduce.sh folk" >&2; exit 2; }
    for seed in 0 1 2; do
      python -m midi_rnn_jax.sample --experiment_dir=reproduced/folk/exp --num_files=100 \
          --file_length=256 --seed=$seed --save_dir="$out/seed$seed"
      python -m midi_rnn_jax.report --experiment_dir=reproduced/folk/exp \
          --generated_dir="$out/seed$seed" --reference=validation
    done ;;
  # speed.md: midi_rnn_jax's own figures (matmul peak, training, sampling) in both modes.
  speed) mkdir -p reproduced
         python -m midi_rnn_jax.bench --parts peak,train,sample --modes window,sequence \
           --configs A,B | tee "$out.txt" ;;
  # speed.md: the PyTorch peer, the same models (bench/peer_bench.py), in its own environment.
  speed-peer) mkdir -p reproduced
              "$torch_python" bench/peer_bench.py --frameworks torch,torch_seq \
                --json-out "$out.json" ;;
  *) echo "unknown table $table; one of: $TABLES" >&2; exit 2 ;;
esac
