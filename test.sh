#!/usr/bin/env bash
# Installs what the tests need, runs every test, and prints one line last:
#   tests: N passed, N failed, N skipped
# Set AIRLOCK_SKIP_AOT=1 to leave out the NativeAOT publish check (it takes a minute or two).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

passed=0 failed=0 skipped=0
finish() {
  echo "tests: $passed passed, $failed failed, $skipped skipped"
  [[ $failed -eq 0 ]]
  exit $?
}

# A named check outside the unit test runners counts as one test.
check() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); echo "== $name: passed"
  else failed=$((failed + 1)); echo "== $name: FAILED"; fi
}

if ! scripts/install-deps.sh; then
  failed=$((failed + 1)); finish
fi

# A private PostgreSQL on 127.0.0.1 for the gateway's store tests (they fail, saying so, without it).
if pg_url=$(scripts/postgres-for-tests.sh); then
  export AIRLOCK_TEST_POSTGRES="$pg_url"
else
  echo "PostgreSQL for the store tests did not start; those tests will fail" >&2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if ! dotnet build Airlock.slnx -c Release --nologo -v quiet -clp:ErrorsOnly; then
  echo "build failed" >&2
  failed=$((failed + 1)); finish
fi

# The NativeAOT CLI is what sandboxes start: publish it first so the proxy tests can run it too.
aot="$root/artifacts/aot"
if [[ "${AIRLOCK_SKIP_AOT:-}" != 1 ]]; then
  check "NativeAOT publish of the CLI" \
    dotnet publish src/Airlock.Cli/Airlock.Cli.csproj -c Release -r linux-x64 -p:PublishAot=true -o "$aot" --nologo -v quiet -clp:ErrorsOnly
  [[ -x "$aot/airlock" ]] && export AIRLOCK_AOT_BINARY="$aot/airlock"
fi

dotnet test Airlock.slnx -c Release --no-build --nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results"

# Sum the counters of every TRX file (skipped tests are counted as notExecuted).
shopt -s nullglob
trx=("$results"/*.trx)
if ((${#trx[@]} == 0)); then
  echo "no test results found" >&2
  failed=$((failed + 1))
fi
for file in "${trx[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$file")
  value() { local v; v=$(grep -o " $1=\"[0-9]*\"" <<<"$counters" | grep -o '[0-9]*'); echo "${v:-0}"; }
  passed=$((passed + $(value passed)))
  failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
  skipped=$((skipped + $(value notExecuted)))
done

check "airlock wrapper: policy check of every example" ./airlock policy check examples/policies/*.yaml
if [[ -n "${AIRLOCK_AOT_BINARY:-}" ]]; then
  check "NativeAOT binary: policy check and demo" \
    bash -c "'$aot/airlock' policy check examples/policies/*.yaml && '$aot/airlock' demo >/dev/null"
fi


finish
