#!/usr/bin/env bash
# Rebuilds the committed sample grids that predate labelled ≥ 64-px grids (10×10 tiles of 16 px, 1-px
# gaps, no labels; their runs' checkpoints are not in git, so they cannot be resampled) from their own
# pixels with `ctlab grid upscale`: nearest-neighbour ×4 to 64-px tiles, row/column index labels and a
# title. The source is each file as committed at $SRC_REV (the last commit with the old grids), so this
# reruns after the files were replaced; each output gets <name>.grid.json (command, commit, source and
# its sha256, layout).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC_REV=${SRC_REV:-0dd64cef4aad00d6f31a508650ebbd9cc3e5b1ce}
CTLAB="node dist/src/cli.js"
up() { # <path> <title>
  $CTLAB grid upscale --in "git:$SRC_REV:$1" --tile 16 --title "$2" --out "$1"
}
up results/images/samples-1step.png 'image run (iCT, 6000 steps): 1-step samples'
up results/images/samples-2step.png 'image run (iCT, 6000 steps): 2-step samples'
for f in $(git ls-tree -r --name-only "$SRC_REV" results/ablations | grep -E '/fashion-mnist-samples-1step-[^/]+\.png$'); do
  ab=$(basename "$(dirname "$f")")
  arm=$(basename "$f" .png); arm=${arm#fashion-mnist-samples-1step-}
  out=$f
  if [ "$ab" = teacher ]; then # the θ⁻ ablation, renamed target (arms ema / stopgrad) after these grids were made
    ab=target; [ "$arm" = none ] && arm=stopgrad
    out=results/ablations/$ab/fashion-mnist-samples-1step-$arm.png
  fi
  $CTLAB grid upscale --in "git:$SRC_REV:$f" --tile 16 --title "$ab / $arm: 1-step samples (first seed)" --out "$out"
done
