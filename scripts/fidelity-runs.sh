#!/usr/bin/env bash
# The longer ablation suites of issue #19 [fidelity], sized by the power analysis
# (results/ablations/README.md): 2D at 10,000 steps x 10 seeds for every ablation, Fashion-MNIST at
# 4,000 steps (each of the 8 curriculum stages gets 500 steps) x 5 seeds, one ablation after the
# other in the order the power analysis of the 1,000-step suite ranks them (the fewest seeds to
# decide first; the baseline arm is shared, so later ablations reuse its runs), and the target EMA
# once more at the full 28x28 resolution (fmnist28: 3 seeds x 2,000 steps, scripts/fidelity-28px.json,
# run directories in $FIDELITY_RUNS_28, default runs/ablations-28). Resumable: rerun it and finished runs are skipped, a killed run
# resumes from its checkpoint. Run directories go to $FIDELITY_RUNS (default runs/ablations-long);
# their small records are committed with `ctlab records export` into results/runs/ablations-long and
# the tables rebuilt with `ctlab report --runs results/runs/ablations-long --out results/ablations-long`.
# The 1,000/2,000-step suite in results/ablations stays as it is.
#   bash scripts/fidelity-runs.sh [2d|fmnist|fmnist28|all] [ablation ...]
# Names after the suite limit fmnist to those ablations (two shells can then run two of them at once).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${FIDELITY_RUNS:-runs/ablations-long}
WORKERS=${FIDELITY_WORKERS:-1}
export CTLAB_THREADS=${CTLAB_THREADS:-1}
CTLAB="node dist/src/cli.js"
only=${1:-all}
shift || true
fm_ablations=${*:-target ct-vs-ict curriculum embedding noise-sampler distance weighting dropout}
[[ $only == all || $only == 2d ]] && {
  $CTLAB ablate all --data eight-gaussians --seeds 10 --steps 10000 --workers "$WORKERS" --runs "$RUNS" --no-report --no-progress
}
[[ $only == all || $only == fmnist ]] && {
  for a in $fm_ablations; do
    $CTLAB ablate "$a" --data fashion-mnist --seeds 5 --steps 4000 --workers "$WORKERS" --runs "$RUNS" --no-report --no-progress
  done
}
[[ $only == all || $only == fmnist28 ]] && {
  $CTLAB ablate target --data fashion-mnist --config scripts/fidelity-28px.json --seeds 3 --steps 2000 --workers "$WORKERS" --runs "${FIDELITY_RUNS_28:-runs/ablations-28}" --no-report --no-progress
}
exit 0
