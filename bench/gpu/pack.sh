#!/usr/bin/env bash
# Packs what bench/gpu/run.sh needs on a bare GPU machine without network or Node into
# bench/gpu/pack/ (gitignored; about 30 MiB, under the device tool's 64 MiB):
#   bench.js       esbuild bundle of bench/gpu/bench.ts (the kit, tfjs-core, the webgpu backend)
#   node.xz        this machine's node binary, stripped, xz'd (official builds are static but for glibc)
#   dawn.node.xz   Dawn from the npm package `webgpu` (needs glibc >= 2.34, libstdc++ of GCC >= 12)
#   libvulkan.so.1 the Vulkan loader (Dawn loads the one next to dawn.node)
#   debs/          libvulkan1 + libglvnd's libraries (NVIDIA's Vulkan ICD links libGLdispatch), for
#                  machines whose ldconfig lacks them (the device README's recipe)
#   pytorch_step.py, meta.json (commit, date, versions)
# Then, on the GPU machine (device tool): command `bash bench/gpu/run.sh`, carry ["bench/gpu/pack"].
set -euo pipefail
cd "$(dirname "$0")/../.."
P=bench/gpu/pack
rm -rf "$P"
mkdir -p "$P/debs"
npx tsc -p tsconfig.json
npx esbuild dist/bench/gpu/bench.js --bundle --platform=node --target=node20 --outfile="$P/bench.js" --log-level=error
node_bin=$(readlink -f "$(command -v node)")
cp "$node_bin" "$P/node"
strip "$P/node" 2>/dev/null || true
dawn=$(node -e "const p=require('path');console.log(p.join(p.dirname(require.resolve('webgpu')),'dist','linux-x64','dawn.node'))")
cp "$dawn" "$P/dawn.node"
nice -n 10 xz -9 -T2 "$P/node" "$P/dawn.node"
vk=$(ldconfig -p | awk '/libvulkan.so.1 .*x86-64/ {print $NF; exit}')
[ -n "$vk" ] || { echo "pack: no libvulkan.so.1 here; install libvulkan1 (scripts/system-deps.sh)" >&2; exit 1; }
cp -L "$vk" "$P/libvulkan.so.1"
# the device README's loaders (amd64 debs of this machine's Debian; dpkg -x'd there only when missing)
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64'
(cd "$P/debs" && apt-get $o download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2 >/dev/null 2>&1) ||
  echo "pack: apt-get download of the loader debs failed; run.sh will rely on the machine's own" >&2
node -e "
const cp = require('child_process');
const sh = (c) => { try { return cp.execSync(c, { encoding: 'utf8' }).trim(); } catch { return null; } };
console.log(JSON.stringify({
  command: 'bench/gpu/pack.sh, then on the GPU machine: bash bench/gpu/run.sh',
  commit: sh('git rev-parse HEAD'),
  dirty: (sh('git status --porcelain --untracked-files=no') ?? '') !== '',
  packedAt: new Date().toISOString(),
  node: process.version,
  webgpuPackage: require('webgpu/package.json').version,
  tfjsBackendWebgpu: require('@tensorflow/tfjs-backend-webgpu/package.json').version,
  seed: 0,
}, null, 1));" >"$P/meta.json"
cp bench/pytorch_step.py "$P/"
du -sh "$P"
total=$(du -sb "$P" | cut -f1)
[ "$total" -lt $((60 * 1024 * 1024)) ] || { echo "pack: $P is $total bytes, over 60 MiB" >&2; exit 1; }
