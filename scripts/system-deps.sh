#!/usr/bin/env bash
# Installs the Debian packages that tests and static plot export use, when missing (machines here run
# as root; elsewhere run this with sudo or install them yourself). Set CTLAB_SKIP_APT=1 to skip.
# libdnnl-dev, libopenblas-dev, g++ and make build the native kernels (scripts/build-native.js);
# CTLAB_NATIVE=0 leaves them out. slurm-wlm and munge run a one-node Slurm cluster for the Slurm
# executor's tests (test/experiments/slurm.test.ts); CTLAB_SLURM=0 leaves them out. apt starts no
# service for them. Never purge them: that also removes python3-torch (shared libhwloc15).
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
