#!/usr/bin/env bash
# Create → exec `true` → delete of a local sandbox through the gateway's API (issue: p50 ≤ 150 ms), against a
# real `airlock serve` (NativeAOT). RUNS=n (default 30); AIRLOCK=path measures that binary instead of publishing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
command -v bwrap >/dev/null || apt-get install -y bubblewrap >/dev/null
airlock="${AIRLOCK:-}"
if [[ -z "$airlock" ]]; then
  dotnet publish "$root/src/Airlock.Cli/Airlock.Cli.csproj" -c Release -r linux-x64 -p:PublishAot=true -o "$root/artifacts/aot" --nologo -v quiet -clp:ErrorsOnly
  airlock="$root/artifacts/aot/airlock"
fi
dotnet run -c Release --project "$root/bench/gateway" -- --airlock "$airlock" --runs "${RUNS:-30}"
