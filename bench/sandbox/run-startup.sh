#!/usr/bin/env bash
# airlock run -- true (NativeAOT) against a bare bubblewrap sandbox, in the same run (DESIGN §8).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null
command -v bwrap >/dev/null || apt-get install -y bubblewrap >/dev/null
dotnet publish "$root/src/Airlock.Cli/Airlock.Cli.csproj" -c Release -r linux-x64 -p:PublishAot=true -o "$root/artifacts/aot" --nologo -v quiet -clp:ErrorsOnly
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'version: 1\negress:\n  - allow: example.com\n' > "$work/p.yaml"
cd "$work"
hyperfine --warmup 3 --runs "${RUNS:-30}" -N --export-markdown "$work/result.md" \
  "bwrap --unshare-all --ro-bind / / true" \
  "$root/artifacts/aot/airlock run --policy p.yaml --quiet --events $work/events.ndjson -- true"
cat "$work/result.md"
