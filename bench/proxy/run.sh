#!/usr/bin/env bash
# Airlock against squid and mitmproxy, HTTPS through an explicit proxy to a local nginx, all on loopback.
#
#   bash bench/proxy/run.sh
#
# Needs root (apt-get for missing tools, squid drops to the 'proxy' user, mitmproxy gets a private
# /etc/hosts through a mount namespace). Installs nginx, squid-openssl, mitmproxy, hey and openssl when
# missing, publishes the NativeAOT airlock binary when it is missing or older than the sources, builds
# bench/Airlock.LoadGen, then:
#   - makes a test CA and a bench.test server certificate, starts nginx with HTTPS on 127.0.0.1;
#   - starts Airlock (passthrough and interception), squid (CONNECT allowlist and ssl-bump) and mitmdump,
#     each on its own loopback port, each resolving bench.test to 127.0.0.1 without touching /etc/hosts,
#     each verifying the origin against the test CA;
#   - runs the load generator (keep-alive, CONCURRENCY workers, fixed time, the 1 KiB body, TLS verified
#     against the CA each client must trust) against direct and every proxy, REPEATS times interleaved;
#     the same at a fixed 1,000 req/s (latency at equal load); hey (which does not verify TLS) as a
#     cross-check; and the 1 MiB body for bulk throughput;
#   - opens 1,000 idle CONNECT passthrough tunnels (TLS to nginx inside each) through a fresh Airlock and a
#     fresh squid and reads VmRSS from /proc;
#   - prints a Markdown table and writes raw results to bench/proxy/results/.
# Every process it starts is stopped on exit, Ctrl-C included. Every load loop is bounded in time.
#
# Knobs (environment): BENCH_DURATION (10 s), BENCH_WARMUP (2 s), BENCH_CONCURRENCY (50), BENCH_REPEATS (3),
# BENCH_TUNNELS (1000), BENCH_PORT_BASE (18440: proxies on BASE+11…, all on 127.0.0.1), BENCH_ORIGIN_PORT (443), BENCH_TARGETS (all), BENCH_HEY (1), BENCH_LARGE (1),
# BENCH_RATE (1000: also a paced run at this total req/s for latency at equal load; 0 skips it),
# BENCH_KEEP (0: keep the temp dir with logs and events), BENCH_AIRLOCK_ENV (empty: extra environment for the
# Airlock processes, NAME=VALUE words, for experiments only, recorded as meta.airlock_env; `airlock proxy`
# already turns on inline socket completions itself, so e.g. "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0"
# measures without them; the recorded results use no extra environment), BENCH_RESULTS (bench/proxy/results:
# where the summary goes).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-2}
concurrency=${BENCH_CONCURRENCY:-50}
repeats=${BENCH_REPEATS:-3}
tunnel_count=${BENCH_TUNNELS:-1000}
base=${BENCH_PORT_BASE:-18440}
read -r -a targets <<<"${BENCH_TARGETS:-direct airlock-passthrough airlock-inspect squid squid-bump mitmproxy}"
use_hey=${BENCH_HEY:-1}
use_large=${BENCH_LARGE:-1}
rate=${BENCH_RATE:-1000}

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (apt-get, squid's user switch, a private mount namespace for mitmproxy)"

# ---------------------------------------------------------------- tools
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
# squid-openssl is the build with ssl-bump; plain 'squid' (GnuTLS) cannot bump.
dpkg -s squid-openssl >/dev/null 2>&1 || need+=(squid-openssl)
command -v mitmdump >/dev/null 2>&1 || need+=(mitmproxy)
command -v hey >/dev/null 2>&1 || need+=(hey)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
if ((${#need[@]} > 0)); then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
airlock="$root/artifacts/aot/airlock"
if [[ ! -x "$airlock" || -n "$(find src Directory.Build.props Directory.Packages.props -newer "$airlock" -type f \
    -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)" ]]; then
  log "publishing the NativeAOT airlock binary"
  dotnet publish src/Airlock.Cli -c Release -r linux-x64 -p:PublishAot=true -o artifacts/aot --nologo -v quiet -clp:ErrorsOnly >&2
fi
log "building bench/Airlock.LoadGen"
dotnet build bench/Airlock.LoadGen -c Release -o artifacts/loadgen --nologo -v quiet -clp:ErrorsOnly >&2
loadgen=(dotnet "$root/artifacts/loadgen/Airlock.LoadGen.dll")

# ---------------------------------------------------------------- ports, temp dir, cleanup
# The origin listens on 443 so that the URL has no port: hey puts the Host header, port and all, into the
# SNI ('bench.test:18443'), which Airlock rightly refuses as an SNI mismatch.
port_nginx=${BENCH_ORIGIN_PORT:-443}
port_airlock_pass=$((base + 11))
port_airlock_inspect=$((base + 12))
port_squid=$((base + 13))
port_squid_bump=$((base + 14))
port_mitm=$((base + 15))
port_airlock_metrics_pass=$((base + 21))
port_airlock_metrics_inspect=$((base + 22))
port_airlock_tunnels=$((base + 31))
port_squid_tunnels=$((base + 32))
for p in $port_nginx $port_airlock_pass $port_airlock_inspect $port_squid $port_squid_bump $port_mitm \
    $port_airlock_metrics_pass $port_airlock_metrics_inspect $port_airlock_tunnels $port_squid_tunnels; do
  if ss -Hltn "sport = :$p" | grep -q .; then die "port $p is in use; set BENCH_PORT_BASE"; fi
done

tmp=$(mktemp -d /tmp/airlock-bench.XXXXXX)
chmod 755 "$tmp"
pids=()
client_pid=
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid i
  if [[ -n $client_pid ]]; then kill -TERM "$client_pid" 2>/dev/null || true; wait "$client_pid" 2>/dev/null || true; fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a load client in the background and waits for it, so that Ctrl-C or TERM stops the run at once
# (bash runs traps only between foreground commands) and cleanup can stop the client too.
run_client() {
  "$@" &
  client_pid=$!
  local rc=0
  wait "$client_pid" || rc=$?
  client_pid=
  return "$rc"
}

wait_port() { # host port name pid
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    kill -0 "$4" 2>/dev/null || die "$3 exited during start-up (logs in $tmp)"
    sleep 0.1
  done
  die "$3 did not listen on $1:$2 within 30 s"
}

# Runs a command with a private /etc/hosts that maps bench.test to 127.0.0.1 (mount namespace; the
# system's file is untouched).
hosts="$tmp/hosts"
printf '127.0.0.1 bench.test\n' >"$hosts"
with_hosts=(unshare -m --propagation private sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts")

# ---------------------------------------------------------------- certificates
log "creating the test CA and the bench.test certificate in $tmp"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Airlock bench test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=bench.test" -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:bench.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tmp/server.ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
  -extfile "$tmp/server.ext" -out "$tmp/server.pem" 2>/dev/null
# squid's ssl-bump CA (squid wants certificate and key side by side).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=squid bench bump CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$tmp/squid-bump-ca.key" -out "$tmp/squid-bump-ca.pem" 2>/dev/null

# ---------------------------------------------------------------- nginx
mkdir -p "$tmp/www" "$tmp/nginx"
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 >"$tmp/www/1k"
head -c 1048576 /dev/urandom >"$tmp/www/1m"
cp "$tmp/www/1k" "$tmp/www/index.html"
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  keepalive_timeout 300s;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$port_nginx ssl;
    server_name bench.test;
    ssl_certificate $tmp/server.pem;
    ssl_certificate_key $tmp/server.key;
    root $tmp/www;
  }
}
EOF
log "starting nginx on 127.0.0.1:$port_nginx"
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
pid_nginx=$!
pids+=("$pid_nginx")
wait_port 127.0.0.1 "$port_nginx" nginx "$pid_nginx"

# ---------------------------------------------------------------- Airlock
airlock_policy() { # name tls
  cat >"$tmp/airlock-$1.yaml" <<EOF
version: 1
name: bench-$1
default: deny
tls: $2
egress:
  - allow: bench.test
    ports: [$port_nginx]
addresses:
  allow: ["127.0.0.0/8"]
EOF
}
airlock_policy passthrough passthrough
airlock_policy inspect inspect
airlock_policy passthrough-tunnels passthrough
start_airlock() { # name port metrics-port; sets airlock_pid
  local args=(proxy --policy "$tmp/airlock-$1.yaml" --listen "127.0.0.1:$2" --ca-cert-out "$tmp/airlock-$1-ca.pem"
    --events "$tmp/airlock-$1-events.ndjson" --resolve bench.test=127.0.0.1 --upstream-ca "$tmp/ca.pem")
  [[ -n "$3" ]] && args+=(--metrics "127.0.0.1:$3")
  # shellcheck disable=SC2086 # BENCH_AIRLOCK_ENV is a list of NAME=VALUE words
  env ${BENCH_AIRLOCK_ENV:-} "$airlock" "${args[@]}" >"$tmp/airlock-$1.log" 2>&1 &
  airlock_pid=$!
  pids+=("$airlock_pid")
  wait_port 127.0.0.1 "$2" "airlock ($1)" "$airlock_pid"
}
log "starting Airlock passthrough on :$port_airlock_pass and interception on :$port_airlock_inspect"
start_airlock passthrough "$port_airlock_pass" "$port_airlock_metrics_pass"
pid_airlock_pass=$airlock_pid
start_airlock inspect "$port_airlock_inspect" "$port_airlock_metrics_inspect"
pid_airlock_inspect=$airlock_pid

# ---------------------------------------------------------------- squid
squid_conf() { # name port bump(0/1)
  local dir="$tmp/$1"
  mkdir -p "$dir"
  {
    if [[ $3 == 1 ]]; then
      cat "$tmp/squid-bump-ca.pem" "$tmp/squid-bump-ca.key" >"$dir/bump-ca.pem"
      echo "http_port 127.0.0.1:$2 ssl-bump tls-cert=$dir/bump-ca.pem generate-host-certificates=on dynamic_cert_mem_cache_size=16MB"
      echo "sslcrtd_program /usr/lib/squid/security_file_certgen -s $dir/ssl_db -M 16MB"
      echo "sslcrtd_children 5 startup=1 idle=1"
      echo "ssl_bump bump all"
      echo "tls_outgoing_options cafile=$tmp/ca.pem"
    else
      echo "http_port 127.0.0.1:$2"
    fi
    cat <<EOF
pid_filename $dir/squid.pid
cache_log $dir/cache.log
access_log stdio:$dir/access.log
cache_store_log none
coredump_dir $dir
cache deny all
cache_mem 0 MB
hosts_file $hosts
pinger_enable off
shutdown_lifetime 1 seconds
max_filedescriptors 16384
acl bench_host dstdomain bench.test
acl bench_port port $port_nginx
acl CONNECT method CONNECT
http_access allow CONNECT bench_host bench_port
EOF
    # After bumping, the decrypted requests are checked too.
    [[ $3 == 1 ]] && echo "http_access allow bench_host bench_port"
    echo "http_access deny all"
  } >"$dir/squid.conf"
  if [[ $3 == 1 ]]; then
    /usr/lib/squid/security_file_certgen -c -s "$dir/ssl_db" -M 16MB >/dev/null
  fi
  chown -R proxy:proxy "$dir"
}
start_squid() { # name port; sets squid_pid
  squid -N -f "$tmp/$1/squid.conf" >"$tmp/$1/stdout.log" 2>&1 &
  squid_pid=$!
  pids+=("$squid_pid")
  wait_port 127.0.0.1 "$2" "squid ($1)" "$squid_pid"
}
squid_conf squid "$port_squid" 0
squid_conf squid-bump "$port_squid_bump" 1
log "starting squid CONNECT on :$port_squid and squid ssl-bump on :$port_squid_bump"
start_squid squid "$port_squid"
pid_squid=$squid_pid
start_squid squid-bump "$port_squid_bump"
pid_squid_bump=$squid_pid

# ---------------------------------------------------------------- mitmproxy
mkdir -p "$tmp/mitm"
log "starting mitmdump on :$port_mitm"
"${with_hosts[@]}" mitmdump --mode regular --listen-host 127.0.0.1 --listen-port "$port_mitm" \
  --set confdir="$tmp/mitm" --set ssl_verify_upstream_trusted_ca="$tmp/ca.pem" \
  >"$tmp/mitm/flows.log" 2>&1 &
pid_mitm=$!
pids+=("$pid_mitm")
wait_port 127.0.0.1 "$port_mitm" mitmdump "$pid_mitm"

# ---------------------------------------------------------------- targets
if [[ $port_nginx == 443 ]]; then url="https://bench.test"; else url="https://bench.test:$port_nginx"; fi
proxy_pid() {
  case $1 in
    direct) echo "" ;;
    airlock-passthrough) echo "$pid_airlock_pass" ;;
    airlock-inspect) echo "$pid_airlock_inspect" ;;
    squid) echo "$pid_squid" ;;
    squid-bump) echo "$pid_squid_bump" ;;
    mitmproxy) echo "$pid_mitm" ;;
  esac
}
# CPU time (clock ticks) of these processes and their live children.
clk_tck=$(getconf CLK_TCK)
cpu_ticks() {
  local total=0 pid c
  for pid in "$@"; do
    for c in "$pid" $(pgrep -P "$pid" || true); do
      [[ -r /proc/$c/stat ]] || continue
      total=$((total + $(awk '{print $14 + $15}' "/proc/$c/stat")))
    done
  done
  echo "$total"
}
# Context switches of these processes' threads (voluntary and not).
ctx_switches() {
  local pid
  for pid in "$@"; do
    cat /proc/"$pid"/task/*/status 2>/dev/null || true
  done | awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n + 0}'
}
proxy_port() {
  case $1 in
    direct) echo "" ;;
    airlock-passthrough) echo "$port_airlock_pass" ;;
    airlock-inspect) echo "$port_airlock_inspect" ;;
    squid) echo "$port_squid" ;;
    squid-bump) echo "$port_squid_bump" ;;
    mitmproxy) echo "$port_mitm" ;;
    *) die "unknown target $1" ;;
  esac
}
client_ca() { # the CA a client of this target must trust
  case $1 in
    direct | airlock-passthrough | squid) echo "$tmp/ca.pem" ;;
    airlock-inspect) echo "$tmp/airlock-inspect-ca.pem" ;;
    squid-bump) echo "$tmp/squid-bump-ca.pem" ;;
    mitmproxy) echo "$tmp/mitm/mitmproxy-ca-cert.pem" ;;
  esac
}

log "smoke test: one verified GET per target (curl)"
for t in "${targets[@]}"; do
  p=$(proxy_port "$t")
  if [[ -z $p ]]; then via=(--resolve "bench.test:$port_nginx:127.0.0.1"); else via=(-x "http://127.0.0.1:$p"); fi
  code=$(curl -sS --max-time 20 --cacert "$(client_ca "$t")" "${via[@]}" -o /dev/null -w '%{http_code}' "$url/1k") ||
    die "$t: curl failed (logs in $tmp; BENCH_KEEP=1 keeps them)"
  [[ $code == 200 ]] || die "$t: HTTP $code"
  log "  $t: 200"
done

# ---------------------------------------------------------------- load
raw="$tmp/raw"
mkdir -p "$raw"
run_loadgen() { # target repeat path concurrency [rate]
  local p via=() tag
  tag=$(basename "$3")
  p=$(proxy_port "$1")
  if [[ -z $p ]]; then via=(--resolve bench.test=127.0.0.1); else via=(--proxy "http://127.0.0.1:$p"); fi
  local ppid proxy0 origin0 ctx0
  ppid=$(proxy_pid "$1")
  proxy0=$(cpu_ticks $ppid); origin0=$(cpu_ticks "$pid_nginx"); ctx0=$(ctx_switches $ppid)
  run_client timeout $((duration + warmup + 60)) "${loadgen[@]}" http --url "$url$3" --ca "$(client_ca "$1")" "${via[@]}" \
    --concurrency "$4" --duration "$duration" --warmup "$warmup" ${5:+--rate "$5"} \
    --out "$raw/loadgen-$tag${5:+-rate$5}.$1.$2.json" >/dev/null
  printf '{"proxy_cpu_s":%s,"origin_cpu_s":%s,"proxy_context_switches":%s}\n' \
    "$(awk -v a="$proxy0" -v b="$(cpu_ticks $ppid)" -v t="$clk_tck" 'BEGIN {print (b - a) / t}')" \
    "$(awk -v a="$origin0" -v b="$(cpu_ticks "$pid_nginx")" -v t="$clk_tck" 'BEGIN {print (b - a) / t}')" \
    "$(($(ctx_switches $ppid) - ctx0))" \
    >"$raw/cpu-$tag${5:+-rate$5}.$1.$2.json"
}
run_hey() { # target repeat
  local p via=()
  p=$(proxy_port "$1")
  [[ -n $p ]] && via=(-x "http://127.0.0.1:$p")
  # hey does not verify TLS (InsecureSkipVerify); it resolves bench.test itself only for direct.
  run_client timeout $((duration + 60)) "${with_hosts[@]}" hey -z "${duration}s" -c "$concurrency" -disable-compression "${via[@]}" "$url/1k" >"$raw/hey.$1.$2.txt"
}

for ((r = 1; r <= repeats; r++)); do
  for t in "${targets[@]}"; do
    log "run $r/$repeats: loadgen 1k $t"
    run_loadgen "$t" "$r" /1k "$concurrency"
    if [[ $use_hey == 1 && $port_nginx == 443 ]]; then
      log "run $r/$repeats: hey 1k $t"
      run_hey "$t" "$r"
    fi
    if [[ $rate != 0 ]]; then
      log "run $r/$repeats: loadgen 1k $t at $rate req/s"
      run_loadgen "$t" "$r" /1k "$concurrency" "$rate"
    fi
    if [[ $use_large == 1 ]]; then
      log "run $r/$repeats: loadgen 1m $t"
      run_loadgen "$t" "$r" /1m "$concurrency"
    fi
  done
done

# RSS of the throughput instances after all that load (for the record).
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
printf '{"airlock_passthrough_rss_kb":%s,"airlock_passthrough_hwm_kb":%s,"airlock_inspect_rss_kb":%s,"airlock_inspect_hwm_kb":%s}\n' \
  "$(rss_kb "$pid_airlock_pass")" "$(hwm_kb "$pid_airlock_pass")" "$(rss_kb "$pid_airlock_inspect")" "$(hwm_kb "$pid_airlock_inspect")" \
  >"$raw/after-load-rss.json"
curl -sS --max-time 5 "http://127.0.0.1:$port_airlock_metrics_inspect/metrics" >"$raw/airlock-inspect-metrics.txt" || true
curl -sS --max-time 5 "http://127.0.0.1:$port_airlock_metrics_pass/metrics" >"$raw/airlock-passthrough-metrics.txt" || true
for f in passthrough inspect; do
  printf '%s %s\n' "$(wc -l <"$tmp/airlock-$f-events.ndjson")" "$(stat -c %s "$tmp/airlock-$f-events.ndjson")" >"$raw/airlock-$f-events.count"
done

# ---------------------------------------------------------------- 1,000 idle tunnels
stop_pid() { kill -TERM "$1" 2>/dev/null || true; for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; kill -KILL "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
measure_tunnels() { # kind repeat pid port
  local ready="$tmp/tunnels.ready" go="$tmp/tunnels.go" idle_rss lg
  rm -f "$ready" "$go"
  sleep 1
  idle_rss=$(rss_kb "$3")
  timeout 180 "${loadgen[@]}" tunnels --proxy "127.0.0.1:$4" --target "bench.test:$port_nginx" --ca "$tmp/ca.pem" \
    --count "$tunnel_count" --ready-file "$ready" --go-file "$go" --hold 120 --out "$raw/tunnels.$1.$2.json" >/dev/null &
  lg=$!
  client_pid=$lg
  for _ in $(seq 1200); do [[ -e $ready ]] && break; kill -0 "$lg" 2>/dev/null || break; sleep 0.1; done
  [[ -e $ready ]] || die "tunnel client for $1 did not get ready"
  sleep 2 # let the proxy settle with every tunnel open and idle
  local rss hwm fds threads
  rss=$(rss_kb "$3"); hwm=$(hwm_kb "$3")
  fds=$(find "/proc/$3/fd" -mindepth 1 -maxdepth 1 | wc -l)
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$3/status")
  touch "$go"
  wait "$lg"
  client_pid=
  printf '{"kind":"%s","repeat":%s,"idle_rss_kb":%s,"rss_kb":%s,"hwm_kb":%s,"fds":%s,"threads":%s}\n' \
    "$1" "$2" "$idle_rss" "$rss" "$hwm" "$fds" "$threads" >"$raw/tunnels-rss.$1.$2.json"
}
for ((r = 1; r <= repeats; r++)); do
  log "run $r/$repeats: $tunnel_count idle tunnels through a fresh Airlock (passthrough)"
  start_airlock passthrough-tunnels "$port_airlock_tunnels" ""
  measure_tunnels airlock "$r" "$airlock_pid" "$port_airlock_tunnels"
  stop_pid "$airlock_pid"
  log "run $r/$repeats: $tunnel_count idle tunnels through a fresh squid (CONNECT)"
  squid_conf squid-tunnels "$port_squid_tunnels" 0
  start_squid squid-tunnels "$port_squid_tunnels"
  measure_tunnels squid "$r" "$squid_pid" "$port_squid_tunnels"
  stop_pid "$squid_pid"
done

# ---------------------------------------------------------------- report
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain -- src 2>/dev/null | grep -q . && echo "+dirty" || true)
results=${BENCH_RESULTS:-$root/bench/proxy/results}
mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$results/$stamp.json"
BENCH_RAW="$raw" BENCH_OUT="$out" BENCH_COMMIT="$commit$dirty" BENCH_TARGETS="${targets[*]}" \
  BENCH_DURATION="$duration" BENCH_WARMUP="$warmup" BENCH_CONCURRENCY="$concurrency" BENCH_REPEATS="$repeats" \
  BENCH_TUNNELS="$tunnel_count" BENCH_RATE="$rate" BENCH_AIRLOCK_ENV="${BENCH_AIRLOCK_ENV:-}" BENCH_AIRLOCK="$airlock" \
  python3 -B "$root/bench/proxy/report.py"
log "raw results: $out"
