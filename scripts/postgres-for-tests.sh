#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for the store tests (tests/Airlock.Server.Tests) and prints its URL.
#
#   export AIRLOCK_TEST_POSTGRES="$(scripts/postgres-for-tests.sh)"
#   scripts/postgres-for-tests.sh stop
#
# Installs Debian's postgresql when missing (as root, or through sudo). The cluster lives in $AIRLOCK_PG_DIR
# (default /var/tmp/airlock-pg), listens on 127.0.0.1:$AIRLOCK_PG_PORT (default 55432) only, runs as the
# postgres user when started by root, and has one password-authenticated superuser, airlock. Calling it again
# reuses a running cluster. The URL is also written to $AIRLOCK_PG_DIR/url, which the tests read when
# AIRLOCK_TEST_POSTGRES is unset. Durability is off (fsync=off): this cluster holds nothing worth keeping.
# Everything but the URL goes to stderr.
set -euo pipefail

dir=${AIRLOCK_PG_DIR:-/var/tmp/airlock-pg}
port=${AIRLOCK_PG_PORT:-55432}
user=airlock
password=airlock-tests
database=airlock_test
data="$dir/data"

log() { echo "postgres-for-tests: $*" >&2; }

sudo=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then sudo=(sudo); fi

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bin=$(find_bin)
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
  if [[ $(id -u) -ne 0 && ${#sudo[@]} -eq 0 ]]; then
    log "PostgreSQL is not installed and this is not root: install Debian's postgresql and rerun"
    exit 1
  fi
  log "installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >&2
  bin=$(find_bin)
  [[ -n "$bin" && -x "$bin/initdb" ]] || { log "postgresql installed, but no initdb under /usr/lib/postgresql/*/bin"; exit 1; }
fi

# initdb and postgres refuse to run as root: run them as postgres when we are root.
as_owner=()
owner=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
  owner=postgres
  id postgres >/dev/null 2>&1 || { log "no postgres user (the postgresql package creates it)"; exit 1; }
  as_owner=(runuser -u postgres --)
fi

pg_ctl() { "${as_owner[@]}" "$bin/pg_ctl" -D "$data" "$@"; }

if [[ "${1:-}" == stop ]]; then
  if [[ -f "$data/PG_VERSION" ]]; then pg_ctl stop -m fast >&2 || true; fi
  exit 0
fi

mkdir -p "$dir"
chown "$owner" "$dir"
chmod 0755 "$dir"

if [[ ! -f "$data/PG_VERSION" ]]; then
  log "creating a cluster in $data"
  pwfile=$(mktemp)
  printf '%s\n' "$password" >"$pwfile"
  chown "$owner" "$pwfile"
  "${as_owner[@]}" "$bin/initdb" -D "$data" -U "$user" --pwfile="$pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { rm -f "$pwfile"; log "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$pwfile"
fi

if ! pg_ctl status >/dev/null 2>&1; then
  log "starting on 127.0.0.1:$port"
  if ! pg_ctl start -w -t 60 -l "$dir/server.log" \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2; then
    log "the server did not start (is port $port taken? set AIRLOCK_PG_PORT):"
    tail -n 20 "$dir/server.log" >&2
    exit 1
  fi
fi

export PGPASSWORD=$password
psql=("$bin/psql" -h 127.0.0.1 -p "$port" -U "$user" -v ON_ERROR_STOP=1 -qtA)
if [[ -z "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]]; then
  "${psql[@]}" -d postgres -c "CREATE DATABASE $database" >&2
fi

url="postgres://$user:$password@127.0.0.1:$port/$database"
printf '%s\n' "$url" >"$dir/url"
chmod 0644 "$dir/url"
echo "$url"
