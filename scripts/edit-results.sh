#!/usr/bin/env bash
# Rebuilds results/edit/ from the runs of scripts/edit-train.sh ($EDIT_RUNS, default runs/edit):
# the zero-shot editing grids and metrics (ctlab edit) and the steps-vs-quality curves (ctlab nfe),
# then copies the runs' small records (no checkpoints) to results/runs/edit.
#   bash scripts/edit-train.sh && bash scripts/edit-results.sh        (about 30 min on 2 cores)
#   bash scripts/edit-results.sh edit|nfe                              (one half)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${EDIT_RUNS:-runs/edit}
OUT=${EDIT_OUT:-results/edit}
CTLAB="node dist/src/cli.js"
only=${1:-all}
if [[ $only == all || $only == edit ]]; then
  G=$RUNS/fmnist-ict-4k
  C=$RUNS/fmnist-color-ict-4k
  $CTLAB edit --run "$G" --task inpaint --mask box --fid-n 500 --out "$OUT/fashion-mnist/inpaint-box"
  $CTLAB edit --run "$G" --task inpaint --mask half --out "$OUT/fashion-mnist/inpaint-half"
  $CTLAB edit --run "$G" --task inpaint --mask random:0.5 --out "$OUT/fashion-mnist/inpaint-random"
  $CTLAB edit --run "$G" --task superres --factor 2 --out "$OUT/fashion-mnist/superres-x2"
  $CTLAB edit --run "$G" --task superres --factor 4 --out "$OUT/fashion-mnist/superres-x4"
  $CTLAB edit --run "$G" --task denoise --noise-sigma 0.5 --out "$OUT/fashion-mnist/denoise-1step"
  $CTLAB edit --run "$G" --task denoise --noise-sigma 0.5 --sigmas 0.5,0.2 --out "$OUT/fashion-mnist/denoise-2step"
  $CTLAB edit --run "$G" --task interpolate --out "$OUT/fashion-mnist/interpolate"
  $CTLAB edit --run "$G" --task stroke --out "$OUT/fashion-mnist/stroke"
  $CTLAB edit --run "$C" --task colorize --input test:0-15 --out "$OUT/fashion-mnist-color/colorize"
  $CTLAB edit --run "$C" --task inpaint --mask box --out "$OUT/fashion-mnist-color/inpaint-box"
fi
if [[ $only == all || $only == nfe ]]; then
  # consistency arms (CT, iCT, the CD student): greedy σ search, 1..8 steps; the EDM teacher: Heun and Euler on its Karras grid
  for d in 2d fmnist; do
    out=$OUT/nfe-2d; [[ $d == fmnist ]] && out=$OUT/nfe-fashion-mnist
    $CTLAB nfe --arm ct="$RUNS/$d-ct" --arm ict="$RUNS/$d-ict" --arm cd="$RUNS/$d-cd" \
      --arm edm-heun="$RUNS/$d-edm" --arm edm-euler:edm-euler="$RUNS/$d-edm" --out "$out"
  done
fi
$CTLAB records export --runs "$RUNS" --out results/runs/edit
node dist/src/cli.js report --edit "$OUT"
