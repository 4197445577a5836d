#!/usr/bin/env bash
# The tables of issue #19 [fidelity] from the run directories of scripts/fidelity-runs.sh:
#   bash scripts/fidelity-report.sh export   # the finished runs' small records into results/runs/ (commit them)
#   bash scripts/fidelity-report.sh report   # every table from those records (no run directory needed)
# `report` rebuilds the 1,000-step suite (results/ablations), the 28x28 target check
# (results/ablations-28) and the longer suite (results/ablations-long) with its verdicts, which quote
# the other two, and the results summary results/README.md. A fresh clone can run `report` alone.
# test/experiments/committed-records.test.ts rebuilds the same files with the same labels.
set -euo pipefail
cd "$(dirname "$0")/.."
CTLAB="node dist/src/cli.js"
case ${1:-} in
  export)
    $CTLAB records export --completed --runs "${FIDELITY_RUNS:-runs/ablations-long}" --out results/runs/ablations-long
    $CTLAB records export --completed --runs "${FIDELITY_RUNS_28:-runs/ablations-28}" --out results/runs/ablations-28
    ;;
  report)
    $CTLAB report --runs results/runs/ablations --out results/ablations --label '1,000-step suite'
    $CTLAB report --runs results/runs/ablations-28 --out results/ablations-28 --label '28×28 check'
    $CTLAB report --runs results/runs/ablations-long --out results/ablations-long --label 'longer suite' \
      --compare '1,000-step suite=results/ablations' --compare '28×28 check=results/ablations-28' --summary results/README.md
    ;;
  *)
    echo "usage: bash scripts/fidelity-report.sh export|report" >&2
    exit 2
    ;;
esac
