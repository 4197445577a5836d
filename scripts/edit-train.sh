#!/usr/bin/env bash
# Trains the five runs the editing results and the NFE curve use (resumable: a finished run is
# skipped, a killed one resumes). Run directories go to $EDIT_RUNS (default runs/edit); only their
# small records are committed (ctlab records export). The configs are the committed records of the
# quickstart (2D, 2,000 steps) and of the Fashion-MNIST ablation baseline / CT arm (1,000 steps).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${EDIT_RUNS:-runs/edit}
CTLAB="node dist/src/cli.js"
FM=results/runs/ablations/fashion-mnist
train() { # <out> <args...>
  local out=$1; shift
  if [ -f "$out/run.json" ] && grep -q "\"status\": *\"completed\"" "$out/run.json"; then echo "done: $out"; return; fi
  local resume=(); [ -f "$out/config.json" ] && resume=(--resume)
  $CTLAB train "$@" --out "$out" "${resume[@]}" --no-progress
}
only=${1:-all}
[[ $only == all || $only == 2d ]] && {
  train "$RUNS/2d-ict" --config results/runs/quickstart/ict/config.json
  train "$RUNS/2d-ct" --preset ct --config results/runs/quickstart/ct/config.json
}
[[ $only == all || $only == fmnist ]] && {
  train "$RUNS/fmnist-ict" --data fashion-mnist --config $FM/baseline-93364566/seed1/config.json
  train "$RUNS/fmnist-ct" --preset ct --data fashion-mnist --config $FM/ct-vs-ict-ct-94097dd8/seed1/config.json
}
[[ $only == all || $only == color ]] && {
  train "$RUNS/fmnist-color-ict" --data fashion-mnist-color --config $FM/baseline-93364566/seed1/config.json --steps 2000
}
# longer runs for the committed editing grids (the 1,000-step ones are the NFE curve's, as in the ablations)
[[ $only == all || $only == long ]] && {
  train "$RUNS/fmnist-ict-4k" --data fashion-mnist --config $FM/baseline-93364566/seed1/config.json --steps 4000
  train "$RUNS/fmnist-color-ict-4k" --data fashion-mnist-color --config $FM/baseline-93364566/seed1/config.json --steps 4000
}
exit 0
