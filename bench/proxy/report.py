"""Summarises the raw results of bench/proxy/run.sh: prints Markdown tables, writes one JSON file.

Reads BENCH_RAW (a directory of loadgen-*.json, hey-*.txt, tunnels-*.json files), writes BENCH_OUT.
Medians over the repeats; ratios are ratios of medians.
"""
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys

raw = os.environ["BENCH_RAW"]
out = os.environ["BENCH_OUT"]
targets = os.environ["BENCH_TARGETS"].split()
rate = os.environ.get("BENCH_RATE", "0")


def sh(*cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def first_line(text):
    return text.splitlines()[0] if text else None


def dpkg_version(package):
    return sh("dpkg-query", "-W", "-f=${Version}", package)


def load_json(pattern):
    runs = {}
    for t in targets:
        files = sorted(glob.glob(os.path.join(raw, pattern.format(target=t))))
        runs[t] = [json.load(open(f)) for f in files]
        for run, f in zip(runs[t], files):  # CPU seconds of the proxy and of nginx during the run
            cpu = os.path.join(os.path.dirname(f), "cpu-" + os.path.basename(f)[len("loadgen-"):])
            if os.path.exists(cpu):
                run.update(json.load(open(cpu)))
    return runs


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def per_request(run, key, scale=1e6):
    n = run["requests"] + run.get("warmup_requests", 0)
    return run[key] * scale / n if key in run and n else None


def summarise(runs):
    summary = {}
    for t, rs in runs.items():
        if not rs:
            continue
        summary[t] = {
            "rps": median([r["rps"] for r in rs]),
            "p50_ms": median([r["latency_ms"]["p50"] for r in rs]),
            "p99_ms": median([r["latency_ms"]["p99"] for r in rs]),
            "errors": sum(r["errors"] for r in rs),
            "first_error": next((r["first_error"] for r in rs if r["first_error"]), None),
            "rps_runs": [r["rps"] for r in rs],
            "p99_runs": [r["latency_ms"]["p99"] for r in rs],
            "tls_handshakes": [r["tls_handshakes"] for r in rs],
            "body_mib_per_s": median([r["body_bytes_per_s"] / 1048576 for r in rs]),
            # CPU per request over the whole run (warm-up included), in microseconds
            "proxy_cpu_us_per_req": median([per_request(r, "proxy_cpu_s") for r in rs]),
            "origin_cpu_us_per_req": median([per_request(r, "origin_cpu_s") for r in rs]),
            "client_cpu_us_per_req": median([per_request(r, "client_cpu_s") for r in rs]),
            "proxy_context_switches_per_req": median([per_request(r, "proxy_context_switches", 1) for r in rs]),
        }
    direct = summary.get("direct")
    for t, s in summary.items():
        if direct:
            s["x_direct"] = s["rps"] / direct["rps"] if direct["rps"] else None
            s["added_p99_ms"] = s["p99_ms"] - direct["p99_ms"]
            s["added_p50_ms"] = s["p50_ms"] - direct["p50_ms"]
    return summary


def parse_hey(path):
    text = open(path).read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"50% in ([\d.]+) secs", text)
    p99 = re.search(r"99% in ([\d.]+) secs", text)
    codes = dict((int(c), int(n)) for c, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", text))
    errors = re.search(r"Error distribution:\n((?:.*\n?)*)", text)
    return {
        "rps": float(rps.group(1)) if rps else None,
        "latency_ms": {"p50": float(p50.group(1)) * 1000 if p50 else None, "p99": float(p99.group(1)) * 1000 if p99 else None},
        "status": codes,
        "errors": errors.group(1).strip() if errors else None,
    }


def fmt(v, spec=",.0f"):
    return "–" if v is None else format(v, spec)


loadgen = summarise(load_json("loadgen-1k.{target}.*.json"))
paced = summarise(load_json(f"loadgen-1k-rate{rate}.{{target}}.*.json")) if rate != "0" else {}
large = summarise(load_json("loadgen-1m.{target}.*.json"))

hey = {}
for t in targets:
    rs = [parse_hey(f) for f in sorted(glob.glob(os.path.join(raw, f"hey.{t}.*.txt")))]
    if rs:
        hey[t] = {
            "rps": median([r["rps"] for r in rs]),
            "p50_ms": median([r["latency_ms"]["p50"] for r in rs]),
            "p99_ms": median([r["latency_ms"]["p99"] for r in rs]),
            "rps_runs": [r["rps"] for r in rs],
            "non_200": sum(n for r in rs for c, n in r["status"].items() if c != 200),
            "errors": [r["errors"] for r in rs if r["errors"]],
        }
if "direct" in hey:
    for t, s in hey.items():
        s["x_direct"] = s["rps"] / hey["direct"]["rps"] if s["rps"] and hey["direct"]["rps"] else None

tunnels = {}
for kind in ("airlock", "squid"):
    rss = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(raw, f"tunnels-rss.{kind}.*.json")))]
    client = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(raw, f"tunnels.{kind}.*.json")))]
    if rss:
        tunnels[kind] = {
            "idle_rss_mib": median([r["idle_rss_kb"] / 1024 for r in rss]),
            "rss_mib": median([r["rss_kb"] / 1024 for r in rss]),
            "hwm_mib": median([r["hwm_kb"] / 1024 for r in rss]),
            "rss_mib_runs": [round(r["rss_kb"] / 1024, 1) for r in rss],
            "fds": median([r["fds"] for r in rss]),
            "threads": median([r["threads"] for r in rss]),
            "opened": [c["opened"] for c in client],
            "alive_after_hold": [c["alive_after_hold"] for c in client],
            "first_error": next((c["first_error"] for c in client if c["first_error"]), None),
        }

extra = {}
for name in ("after-load-rss.json",):
    path = os.path.join(raw, name)
    if os.path.exists(path):
        extra["after_load_rss"] = json.load(open(path))
for mode in ("passthrough", "inspect"):
    path = os.path.join(raw, f"airlock-{mode}-events.count")
    if os.path.exists(path):
        lines, size = open(path).read().split()
        extra[f"airlock_{mode}_events"] = {"lines": int(lines), "bytes": int(size)}

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), None)
mem_kb = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
meta = {
    "airlock_commit": os.environ.get("BENCH_COMMIT"),
    "airlock_binary": "NativeAOT, artifacts/aot/airlock",
    "airlock_env": os.environ.get("BENCH_AIRLOCK_ENV") or None,
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(mem_kb / 1048576, 1), "kernel": platform.release(),
                "os": first_line(sh("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"))},
    "versions": {
        "nginx": first_line(sh("nginx", "-v")),
        "squid": first_line(sh("squid", "-v")),
        "squid_package": "squid-openssl " + (dpkg_version("squid-openssl") or "?"),
        "mitmproxy": first_line(sh("mitmdump", "--version")),
        "hey": "hey " + (dpkg_version("hey") or "?"),
        "openssl": sh("openssl", "version"),
        "dotnet": sh("dotnet", "--version"),
    },
    "load": {"duration_s": float(os.environ["BENCH_DURATION"]), "warmup_s": float(os.environ["BENCH_WARMUP"]),
             "concurrency": int(os.environ["BENCH_CONCURRENCY"]), "repeats": int(os.environ["BENCH_REPEATS"]),
             "paced_rate": float(rate), "tunnels": int(os.environ["BENCH_TUNNELS"]),
             "client": "bench/Airlock.LoadGen (HttpClient, SocketsHttpHandler, HTTP/1.1 keep-alive, TLS verified against the CA of each target)"},
}


def target_check(name, value, goal, ok, paired=None):
    return {"target": name, "value": value, "goal": goal, "met": ok if value is not None else None, "paired_ratio": paired}


def ratio(a, b, table=loadgen):
    return table[a]["rps"] / table[b]["rps"] if a in table and b in table and table[b]["rps"] else None


def paired_ratio(a, b, table=loadgen):
    """Median of the per-repeat ratios: targets run interleaved, so repeat r of a and of b saw similar noise."""
    if a not in table or b not in table:
        return None
    return median([x / y for x, y in zip(table[a]["rps_runs"], table[b]["rps_runs"]) if y])


def cpu_ratio(a, b, table=loadgen):
    """How many times the proxy CPU per request of b that a spends (lower is better for a)."""
    if a not in table or b not in table or not table[b]["proxy_cpu_us_per_req"]:
        return None
    return table[a]["proxy_cpu_us_per_req"] / table[b]["proxy_cpu_us_per_req"]


checks = []
for name, a, b, goal, minimum in (
        ("passthrough vs direct", "airlock-passthrough", "direct", ">= 0.7x", 0.7),
        ("passthrough vs squid CONNECT", "airlock-passthrough", "squid", ">= 1.0x", 1.0),
        ("interception vs mitmproxy", "airlock-inspect", "mitmproxy", ">= 3x", 3.0),
        ("interception vs squid ssl-bump", "airlock-inspect", "squid-bump", ">= 1.5x", 1.5)):
    value = ratio(a, b)
    check = target_check(name, value, goal, (value or 0) >= minimum, paired_ratio(a, b))
    if b != "direct":
        check["proxy_cpu_per_request_ratio"] = cpu_ratio(a, b)
    checks.append(check)
for t in ("airlock-passthrough", "airlock-inspect"):
    if t in loadgen and "added_p99_ms" in loadgen[t]:
        v = loadgen[t]["added_p99_ms"]
        checks.append(target_check(f"added p99, {t}, 50 concurrent, saturated", v, "<= 2 ms", v <= 2))
    if t in paced and "added_p99_ms" in paced[t]:
        v = paced[t]["added_p99_ms"]
        checks.append(target_check(f"added p99, {t}, 50 concurrent at {rate} req/s", v, "<= 2 ms", v <= 2))
if "airlock" in tunnels:
    v = tunnels["airlock"]["rss_mib"]
    checks.append(target_check(f"RSS with {os.environ['BENCH_TUNNELS']} idle passthrough tunnels", v, "<= 60 MB", v * 1048576 <= 60e6))

result = {"meta": meta, "loadgen_1k": loadgen, "loadgen_1k_paced": paced, "hey_1k": hey, "loadgen_1m": large,
          "tunnels": tunnels, "extra": extra, "targets": checks}
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, "w") as f:
    json.dump(result, f, indent=1)
    f.write("\n")

# Per-run raw client outputs, small enough to keep beside the summary.
with open(out.replace(".json", ".runs.json"), "w") as f:
    runs = {os.path.basename(p): json.load(open(p)) for p in sorted(glob.glob(os.path.join(raw, "*.json")))}
    runs.update({os.path.basename(p): parse_hey(p) for p in sorted(glob.glob(os.path.join(raw, "hey.*.txt")))})
    json.dump(runs, f, indent=1)
    f.write("\n")

p = print
p(f"\n### 1 KiB GET, {meta['load']['concurrency']} concurrent keep-alive, {meta['load']['duration_s']:.0f} s, median of {meta['load']['repeats']} (loadgen, TLS verified)\n")
p("| target | req/s | × direct | p50 ms | p99 ms | added p99 vs direct | runs (req/s) | errors | CPU µs/req: proxy, nginx, client | proxy context switches/req |")
p("|---|---:|---:|---:|---:|---:|---|---:|---|---:|")
for t in targets:
    if t in loadgen:
        s = loadgen[t]
        added = "–" if "added_p99_ms" not in s or t == "direct" else f"{s['added_p99_ms']:+.2f} ms"
        p(f"| {t} | {fmt(s['rps'])} | {fmt(s.get('x_direct'), '.2f')} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {added} | {', '.join(fmt(x) for x in s['rps_runs'])} | {s['errors']} | {fmt(s['proxy_cpu_us_per_req'])}, {fmt(s['origin_cpu_us_per_req'])}, {fmt(s['client_cpu_us_per_req'])} | {fmt(s['proxy_context_switches_per_req'], '.2f')} |")
if paced:
    p(f"\n### 1 KiB GET, {meta['load']['concurrency']} concurrent at a fixed {float(rate):,.0f} req/s (latency at equal load), median of {meta['load']['repeats']}\n")
    p("| target | achieved req/s | p50 ms | p99 ms | added p50 | added p99 vs direct | errors |")
    p("|---|---:|---:|---:|---:|---:|---:|")
    for t in targets:
        if t in paced:
            s = paced[t]
            a50 = "–" if "added_p50_ms" not in s or t == "direct" else f"{s['added_p50_ms']:+.2f} ms"
            a99 = "–" if "added_p99_ms" not in s or t == "direct" else f"{s['added_p99_ms']:+.2f} ms"
            p(f"| {t} | {fmt(s['rps'])} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {a50} | {a99} | {s['errors']} |")
if hey:
    p(f"\n### Cross-check with hey (does not verify TLS), 1 KiB, {meta['load']['concurrency']} concurrent, median of {meta['load']['repeats']}\n")
    p("| target | req/s | × direct | p50 ms | p99 ms | non-200 |")
    p("|---|---:|---:|---:|---:|---:|")
    for t in targets:
        if t in hey:
            s = hey[t]
            p(f"| {t} | {fmt(s['rps'])} | {fmt(s.get('x_direct'), '.2f')} | {fmt(s['p50_ms'], '.2f')} | {fmt(s['p99_ms'], '.2f')} | {s['non_200']} |")
if large:
    p(f"\n### 1 MiB GET, {meta['load']['concurrency']} concurrent, median of {meta['load']['repeats']}\n")
    p("| target | req/s | MiB/s | × direct | p99 ms | errors |")
    p("|---|---:|---:|---:|---:|---:|")
    for t in targets:
        if t in large:
            s = large[t]
            p(f"| {t} | {fmt(s['rps'], ',.1f')} | {fmt(s['body_mib_per_s'], ',.0f')} | {fmt(s.get('x_direct'), '.2f')} | {s['p99_ms']:.1f} | {s['errors']} |")
if tunnels:
    p(f"\n### {meta['load']['tunnels']:,} idle CONNECT tunnels (TLS to nginx inside each), fresh process, median of {meta['load']['repeats']}\n")
    p("| proxy | RSS before | RSS with tunnels | peak (VmHWM) | runs (MiB) | fds | threads | opened / alive after hold |")
    p("|---|---:|---:|---:|---|---:|---:|---|")
    for kind, s in tunnels.items():
        p(f"| {kind} | {s['idle_rss_mib']:.1f} MiB | {s['rss_mib']:.1f} MiB | {s['hwm_mib']:.1f} MiB | {', '.join(str(x) for x in s['rss_mib_runs'])} | {fmt(s['fds'])} | {fmt(s['threads'])} | {s['opened']} / {s['alive_after_hold']} |")
p("\n### DESIGN §8 targets\n")
p("| target | goal | measured (ratio of medians) | met | median of per-repeat ratios | Airlock CPU/request ÷ other's |")
p("|---|---|---:|---|---:|---:|")
for c in checks:
    v = c["value"]
    shown = "–" if v is None else (f"{v:.2f}×" if "x" in c["goal"] else f"{v:+.2f} ms" if "ms" in c["goal"] else f"{v:.1f} MiB ({v * 1.048576:.1f} MB)")
    paired = fmt(c.get("paired_ratio"), ".2f") + "×" if c.get("paired_ratio") else "–"
    cpu = fmt(c.get("proxy_cpu_per_request_ratio"), ".2f") + "×" if c.get("proxy_cpu_per_request_ratio") else "–"
    p(f"| {c['target']} | {c['goal']} | {shown} | {'yes' if c['met'] else 'NO' if c['met'] is not None else '–'} | {paired} | {cpu} |")
p()
sys.exit(0)
