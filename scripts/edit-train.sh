#!/usr/bin/env bash
# Trains the runs the editing results and the NFE curve use (resumable: a finished run is skipped,
# a killed one resumes). Run directories go to $EDIT_RUNS (default runs/edit); only their small
# records are committed (ctlab records export). The configs are the committed records of the
# quickstart (2D, 2,000 steps), of the Fashion-MNIST ablation baseline / CT arm (1,000 steps) and,
# for the NFE curve's EDM teacher and CD student, of the distillation experiment (results/runs/distill,
# at the CT/iCT runs' steps and seed so every arm of a curve shares its data split).
#   bash scripts/edit-train.sh [all|2d|fmnist|color|long]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${EDIT_RUNS:-runs/edit}
CTLAB="node dist/src/cli.js"
FM=results/runs/ablations/fashion-mnist
DI=results/runs/distill
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
  train "$RUNS/2d-edm" --preset edm --config $DI/eight-gaussians/teacher-100/seed0/config.json --steps 2000 --seed 0 --name edm
  train "$RUNS/2d-cd" --preset cd --config $DI/eight-gaussians/cd-100/seed0/config.json --teacher "$RUNS/2d-edm" --steps 2000 --seed 0 --name cd
}
[[ $only == all || $only == fmnist ]] && {
  train "$RUNS/fmnist-ict" --data fashion-mnist --config $FM/baseline-93364566/seed1/config.json
  train "$RUNS/fmnist-ct" --preset ct --data fashion-mnist --config $FM/ct-vs-ict-ct-94097dd8/seed1/config.json
  train "$RUNS/fmnist-edm" --preset edm --data fashion-mnist --config $DI/fashion-mnist/teacher-100/seed0/config.json --steps 1000 --seed 1 --name edm
  train "$RUNS/fmnist-cd" --preset cd --data fashion-mnist --config $DI/fashion-mnist/cd-100/seed1/config.json --teacher "$RUNS/fmnist-edm" --steps 1000 --seed 1 --name cd
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
