#!/usr/bin/env bash
# Installs the Debian packages that tests and static plot export use, when missing (machines here run
# as root; elsewhere run this with sudo or install them yourself). Set CTLAB_SKIP_APT=1 to skip.
set -euo pipefail
[ "${CTLAB_SKIP_APT:-0}" = 1 ] && exit 0
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
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
