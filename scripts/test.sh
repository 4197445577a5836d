#!/usr/bin/env bash
# The README's test command (`npm test`): installs the Debian packages the tests need when they are
# missing, (re)builds the native kernels (unless CTLAB_NATIVE=0: then their tests check the wasm path
# instead, and a missing addon is not an error), builds, then runs every test file under node's
# built-in runner. Without CTLAB_NATIVE=0, a native build that fails makes the native tests fail, and
# the backend tests then run a second time with CTLAB_NATIVE=0 (the wasm-only path) and the native
# kernel tests again with CTLAB_NATIVE_SIMD=baseline and =avx2 (the loops built without AVX2/FMA, and
# without AVX-512: by default the addon picks the largest ISA the CPU has).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
case "${CTLAB_NATIVE:-}" in
  0|off|false|no) echo "test: native kernels off (CTLAB_NATIVE=${CTLAB_NATIVE})" >&2 ;;
  *) node scripts/build-native.js || echo "test: the native build failed; the native kernel tests will fail (CTLAB_NATIVE=0 tests without them)" >&2 ;;
esac
npx tsc -p tsconfig.json
npx eslint .  # typescript-eslint type-checked rules (eslint.config.mjs)
npx prettier --check .  # formatting (.prettierrc.json, .prettierignore)
npx tsc -p notebooks/tsconfig.json  # the notebook sources (notebooks/NN-name.ts) against the build
# two test files run at once: one thread each unless the caller says otherwise (tests of 2 threads
# ask for them explicitly)
export CTLAB_THREADS="${CTLAB_THREADS:-1}"
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
node --test --test-concurrency="${CTLAB_TEST_CONCURRENCY:-2}" "${files[@]}"
# the backend tests once more with the native kernels switched off, as a user without them runs, and
# the native kernel tests with the baseline (non-AVX2) build of their vectorised loops
case "${CTLAB_NATIVE:-}" in
  0|off|false|no) ;;
  *)
    CTLAB_NATIVE=0 node --test dist/test/backend/native-kernels.test.js dist/test/backend/subnormals.test.js dist/test/backend/select.test.js dist/test/models/groupnorm.test.js dist/test/models/silu.test.js dist/test/models/mlp-fused.test.js
    CTLAB_NATIVE_SIMD=baseline node --test dist/test/backend/native-kernels.test.js dist/test/models/groupnorm.test.js dist/test/models/silu.test.js dist/test/models/mlp-fused.test.js
    CTLAB_NATIVE_SIMD=avx2 node --test dist/test/backend/native-kernels.test.js dist/test/models/groupnorm.test.js dist/test/models/silu.test.js dist/test/models/mlp-fused.test.js
    ;;
esac
