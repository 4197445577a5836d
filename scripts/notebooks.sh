#!/usr/bin/env bash
# Executes the tslab notebooks in notebooks/ headless (what CI and `npm test` run at a tiny scale).
# Their sources are notebooks/NN-name.ts (percent format; `npm run notebooks:sync` writes the .ipynb).
#   bash scripts/notebooks.sh --scale tiny          run every notebook on a temp copy (CI)
#   bash scripts/notebooks.sh --write               run in place, storing outputs (PNGs) for GitHub
#   bash scripts/notebooks.sh notebooks/01-weighting.ipynb   only the named notebook(s)
# Installs Debian's Jupyter packages when /usr/bin/python3 lacks nbclient (as root; CTLAB_SKIP_APT=1
# skips), builds dist/ when it is missing, installs tslab into jupyter/node_modules when missing, puts
# its .bin on PATH (the kernel spec calls the bare `tslab`) and points JUPYTER_PATH at the committed
# kernel spec in jupyter/kernels/tslab.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
if ! "$PY" -c 'import nbclient, ipykernel' >/dev/null 2>&1; then
  if [ "${CTLAB_SKIP_APT:-0}" = 1 ]; then
    echo "notebooks: $PY has no nbclient/ipykernel and CTLAB_SKIP_APT=1; install jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "notebooks: $PY has no nbclient and this is not root; run: sudo apt-get install -y --no-install-recommends jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client" >&2
    exit 1
  fi
  echo "notebooks: installing Debian's Jupyter packages (~630 MB)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/src/index.js ] || npx tsc -p tsconfig.json
# tslab lives in its own package under jupyter/ (jupyter/package.json): as a root devDependency its
# bundled TypeScript 5.0 takes over node_modules/.bin/tsc and breaks `npx tsc` / `npm run build`.
if [ ! -x jupyter/node_modules/.bin/tslab ]; then
  echo "notebooks: installing tslab into jupyter/node_modules" >&2
  npm ci --prefix jupyter --no-audit --no-fund >&2
fi
# each .ipynb must be what its percent source notebooks/NN-name.ts gives, else this would run (and with
# --write store) stale cells: `npm run notebooks:sync` rewrites them
nbs=0; srcs=()
for a in "$@"; do case "$a" in *.ipynb) nbs=$((nbs + 1)); if [ -f "${a%.ipynb}.ts" ]; then srcs+=("${a%.ipynb}.ts"); fi ;; esac; done
if [ -f dist/src/notebook/percent.js ] && { [ "$nbs" = 0 ] || [ ${#srcs[@]} -gt 0 ]; }; then
  node dist/src/notebook/percent.js --check "${srcs[@]}" >/dev/null || { echo "notebooks: an .ipynb is not what its .ts gives; run: npm run notebooks:sync" >&2; exit 1; }
fi
export PATH="$PWD/jupyter/node_modules/.bin:$PATH"
export JUPYTER_PATH="$PWD/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
exec "$PY" scripts/run-notebooks.py "$@"
