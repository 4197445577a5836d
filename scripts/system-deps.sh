#!/usr/bin/env bash
# Installs the Debian packages that tests and static plot export use, when missing (machines here run
# as root; elsewhere run this with sudo or install them yourself). Set CTLAB_SKIP_APT=1 to skip.
# libdnnl-dev, libopenblas-dev, g++ and make build the native kernels (scripts/build-native.js);
# CTLAB_NATIVE=0 leaves them out. slurm-wlm and munge run a one-node Slurm cluster for the Slurm
# executor's tests (test/experiments/slurm.test.ts); CTLAB_SLURM=0 leaves them out. apt starts no
# service for them. Never purge them: that also removes python3-torch (shared libhwloc15).
# Mesa's lavapipe (a CPU Vulkan driver) lets the webgpu backend's parity tests run without a GPU;
# Dawn refuses Debian 12's Mesa 22, so it comes from bookworm-backports (Mesa 25). CTLAB_WEBGPU=0 leaves it out.
set -euo pipefail
[ "${CTLAB_SKIP_APT:-0}" = 1 ] && exit 0
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
case "${CTLAB_NATIVE:-}" in
  0|off|false|no) ;;
  *)
    [ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || need+=(libdnnl-dev)
    { [ -f /usr/include/cblas.h ] || compgen -G "/usr/include/*-linux-gnu/cblas.h" >/dev/null; } || need+=(libopenblas-dev)
    command -v g++ >/dev/null 2>&1 || need+=(g++)
    command -v make >/dev/null 2>&1 || need+=(make)
    ;;
esac
case "${CTLAB_SLURM:-}" in
  0|off|false|no) ;;
  *)
    { command -v sbatch && command -v slurmctld && command -v slurmd; } >/dev/null 2>&1 || need+=(slurm-wlm)
    { command -v munged && command -v mungekey; } >/dev/null 2>&1 || need+=(munge)
    ;;
esac
# lavapipe: present when an lvp ICD file is installed and its Mesa is 25 or newer
lavapipe_ok() {
  compgen -G "/usr/share/vulkan/icd.d/lvp_icd*.json" >/dev/null || return 1
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null) || return 1
  [ "${v%%.*}" -ge 25 ] 2>/dev/null
}
case "${CTLAB_WEBGPU:-}" in
  0|off|false|no) ;;
  *)
    if ! lavapipe_ok && [ -r /etc/debian_version ] && grep -q '^12' /etc/debian_version; then
      if [ "$(id -u)" != 0 ]; then
        echo "system-deps: lavapipe (Mesa >= 25) missing and not root; add bookworm-backports and apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1" >&2
      else
        echo "system-deps: installing Mesa's lavapipe from bookworm-backports (webgpu tests)" >&2
        list=/etc/apt/sources.list.d/ctlab-bookworm-backports.list
        grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ || echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$list"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
      fi
    fi
    ;;
esac
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "system-deps: missing ${need[*]} and not root; install them with apt-get" >&2
    exit 0
  fi
  echo "system-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
