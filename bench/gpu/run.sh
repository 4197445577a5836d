#!/usr/bin/env bash
# The GPU check, run on the device machine from the repository root after bench/gpu/pack.sh here:
#   device tool: command `bash bench/gpu/run.sh`, carry ["bench/gpu/pack"], timeout_s 540
# Unpacks node and dawn.node, finds NVIDIA's Vulkan ICD (VK_DRIVER_FILES), times the U-Net CT step
# (16x16 and 32x32, batch 32 and 128) and 1-step sampling (batch 256) on TF.js webgpu, then the same
# with bench/pytorch_step.py on CUDA, and writes webgpu.json, torch.jsonl, gpu-bench.json and
# gpu-bench.md (+ logs) into $OUT (the device tool's folder), else results/bench/gpu/.
# Knobs (env): SIZES, BATCHES, STEPS, WARMUP, SAMPLE_BATCH, BACKEND (webgpu), TORCH_DEVICE (cuda), PYTHON (python3).
# Locally, on lavapipe at tiny size (a check of the pack, not a measurement):
#   CTLAB_WEBGPU_ALLOW_SOFTWARE=1 TORCH_DEVICE=cpu PYTHON=/usr/bin/python3 SIZES=8 BATCHES=4 STEPS=2 SAMPLE_BATCH=4 OUT=tmp/gpu bash bench/gpu/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
start=$SECONDS
P=bench/gpu/pack
O=${OUT:-results/bench/gpu}
W=$(mktemp -d "${TMPDIR:-/tmp}/ctlab-gpu.XXXXXX")
mkdir -p "$O"
[ -f "$P/bench.js" ] || { echo "run.sh: $P/bench.js missing: run bench/gpu/pack.sh first and carry bench/gpu/pack" >&2; exit 2; }
unxz_to() { "${PYTHON:-python3}" -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }
unxz_to "$P/node.xz" "$W/node" && chmod +x "$W/node"
unxz_to "$P/dawn.node.xz" "$W/dawn.node"
cp "$P/libvulkan.so.1" "$W/"
export LD_LIBRARY_PATH="$W${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ "$(id -u)" = 0 ] && compgen -G "$P/debs/*.deb" >/dev/null; then
  if ! ldconfig -p | grep -q 'libvulkan.so.1 ' || ! ldconfig -p | grep -q 'libGLdispatch.so.0 '; then
    for f in "$P"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
fi
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES=$f; break; fi
  done
fi
[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export CTLAB_DAWN_NODE="$W/dawn.node"
{
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  nvidia-smi -L 2>&1 || true
  "$W/node" -e "const {create}=require(process.env.CTLAB_DAWN_NODE);create([]).requestAdapter({powerPreference:'high-performance'}).then(a=>{const i=a&&a.info;console.log('adapter',i?JSON.stringify({vendor:i.vendor,architecture:i.architecture,device:i.device,description:i.description,isFallbackAdapter:i.isFallbackAdapter}):'none')})" 2>&1
} >"$O/gpu-info.txt"
cat "$O/gpu-info.txt"
SIZES=${SIZES:-16,32}
BATCHES=${BATCHES:-32,128}
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-3}
SAMPLE_BATCH=${SAMPLE_BATCH:-256}
timeout "${WEBGPU_TIMEOUT:-300}" "$W/node" "$P/bench.js" time --backend "${BACKEND:-webgpu}" --out "$O/webgpu.json" \
  --sizes "$SIZES" --batches "$BATCHES" --steps "$STEPS" --warmup "$WARMUP" --sample-batch "$SAMPLE_BATCH" 2>&1 |
  grep -v '^Warning: max' | tee "$O/webgpu.log"
: >"$O/torch.jsonl"
for s in ${SIZES//,/ }; do
  for b in ${BATCHES//,/ }; do
    timeout 120 "${PYTHON:-python3}" "$P/pytorch_step.py" --device "${TORCH_DEVICE:-cuda}" --size "$s" --batch "$b" --steps "$STEPS" --warmup "$WARMUP" >>"$O/torch.jsonl" 2>>"$O/torch.log"
  done
  timeout 120 "${PYTHON:-python3}" "$P/pytorch_step.py" --sample --device "${TORCH_DEVICE:-cuda}" --size "$s" --batch "$SAMPLE_BATCH" --steps "$STEPS" --warmup "$WARMUP" >>"$O/torch.jsonl" 2>>"$O/torch.log"
done
"$W/node" "$P/bench.js" report --webgpu "$O/webgpu.json" --torch "$O/torch.jsonl" --meta "$P/meta.json" --wall "$((SECONDS - start))" --json "$O/gpu-bench.json" --md "$O/gpu-bench.md"
cat "$O/gpu-bench.md"
rm -rf "$W"
