#!/usr/bin/env bash
# The README's test command (`npm test`): installs the Debian packages the tests need when they are
# missing, builds, then runs every test file under node's built-in runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc -p tsconfig.json
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
exec node --test --test-concurrency="${CTLAB_TEST_CONCURRENCY:-2}" "${files[@]}"
