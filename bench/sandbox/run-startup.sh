#!/usr/bin/env bash
# airlock run -- true (NativeAOT) against a bare bubblewrap sandbox, in the same run (DESIGN §8).
# RUNS=n sets the number of runs (default 30); AIRLOCK=path measures that binary instead of publishing this tree's.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null
command -v bwrap >/dev/null || apt-get install -y bubblewrap >/dev/null
command -v jq >/dev/null || apt-get install -y jq >/dev/null
airlock="${AIRLOCK:-}"
if [[ -z "$airlock" ]]; then
  dotnet publish "$root/src/Airlock.Cli/Airlock.Cli.csproj" -c Release -r linux-x64 -p:PublishAot=true -o "$root/artifacts/aot" --nologo -v quiet -clp:ErrorsOnly
  airlock="$root/artifacts/aot/airlock"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'version: 1\negress:\n  - allow: example.com\n' > "$work/p.yaml"
cd "$work"
hyperfine --warmup 3 --runs "${RUNS:-30}" -N --export-markdown "$work/result.md" --export-json "$work/result.json" \
  "bwrap --unshare-all --ro-bind / / true" \
  "$airlock run --policy p.yaml --quiet --events $work/events.ndjson -- true"
cat "$work/result.md"
echo
echo "median (min … max), ms:"
jq -r '.results[] | "\(.median * 1000 * 10 | round / 10) (\(.min * 1000 * 10 | round / 10) … \(.max * 1000 * 10 | round / 10))  \(.command)"' "$work/result.json"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
