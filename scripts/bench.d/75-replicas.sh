#!/usr/bin/env bash
# Replicas behind nginx: what the balancer adds and what 1, 2, 3 replicas serve on this
# machine. Every replica serves the same sample corpus (read-only, one data dir shared
# by all), tool cache off, uncached `search` with rotating queries (the QA set's),
# driven by wrk (scripts/bench/server_wrk.lua). Configurations, interleaved round by
# round with the starting one rotated:
#   direct-1   wrk → one replica
#   nginx-1    wrk → nginx → the same one replica (the balancer's own cost)
#   nginx-2/3  wrk → nginx → 2 or 3 replicas (least_conn)
# Each is measured at 1 connection (latency: what one hop through nginx adds) and at
# CONNS connections (throughput). nginx runs with WORKERS worker processes (default 1).
# The machine has 2 cores, so replicas share them: more replicas cannot add CPU here.
# Writes target/bench/replicas.md (paste into BENCHMARKS.md "Replicas behind nginx").
#
# Knobs: ROUNDS (3), DURATION s (8), WARMUP s (2), CONNS (16), WORKERS (1),
# SIMWEB_BIN (target/release/simweb).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
samples="${SIMWEB_WIKI_SAMPLES:-$root/../shared/data/wiki}"
rounds="${ROUNDS:-3}"
duration="${DURATION:-8}"
warmup="${WARMUP:-2}"
conns="${CONNS:-16}"
workers="${WORKERS:-1}"
bin="${SIMWEB_BIN:-$root/target/release/simweb}"
work="${REPLICAS_BENCH_WORK:-$root/target/bench/replicas-work}"
lua="$root/scripts/bench/server_wrk.lua"
tag=replicas
source "$root/scripts/bench/http.sh"
py="$SIMWEB_HOME/venv/bin/python"

command -v wrk >/dev/null || { apt-get install -y wrk >&2 || { apt-get update -q >&2 && apt-get install -y wrk >&2; }; }
bash scripts/setup.d/25-nginx.sh
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$bin" ] || cargo build -q --release -p simweb --bin simweb

rm -rf "$work"
mkdir -p "$work"
"$bin" ingest --out "$work/corpus" "$samples"/*.bz2 "$samples"/*.xml "$samples"/*.zim >&2
# Queries: the QA set's questions and gold titles, as native search bodies.
"$py" - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
rows = [json.loads(l) for l in open("wikidump/tests/data/qa.jsonl", encoding="utf-8") if l.strip()]
queries = [r["q"] for r in rows] + [r["gold"] for r in rows]
with open(f"{work}/search.jsonl", "w", encoding="utf-8") as f:
    for q in queries:
        f.write(json.dumps({"arguments": {"query": [q]}}, ensure_ascii=False) + "\n")
print(f"[replicas] {len(queries)} queries", file=sys.stderr)
EOF
printf '[layers.cache]\nenabled = false\n' >"$work/uncached.toml"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  return 0
}
trap cleanup EXIT


base_port=18180
replica_args=()
for i in 1 2 3; do
  port=$((base_port + i))
  "$bin" serve --data "$work/corpus" --addr "127.0.0.1:$port" --config "$work/uncached.toml" \
    --state-dir "$work/state-r$i" --replica "r$i" --no-python >"$work/r$i.log" 2>&1 &
  pids+=($!)
  wait_ready "http://127.0.0.1:$port/readyz" "$!" "$work/r$i.log"
  replica_args+=(--replica "r$i=127.0.0.1:$port")
done

# One nginx per replica count, each on its own port, all running throughout.
start_nginx() { # N PORT
  local dir="$work/nginx-$1"
  mkdir -p "$dir"
  PYTHONPATH=python/src "$py" -m simweb.lb "${replica_args[@]:0:$(( $1 * 2 ))}" --listen "127.0.0.1:$2" >"$dir/simweb.conf"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  include $dir/simweb.conf;
}
EOF
  "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" &
  pids+=($!)
  wait_ready "http://127.0.0.1:$2/healthz" "$!" "$dir/error.log"
}
for n in 1 2 3; do start_nginx "$n" $((18190 + n)); done

declare -A url=(
  [direct-1]="http://127.0.0.1:$((base_port + 1))"
  [nginx-1]="http://127.0.0.1:18191"
  [nginx-2]="http://127.0.0.1:18192"
  [nginx-3]="http://127.0.0.1:18193"
)
configs=(direct-1 nginx-1 nginx-2 nginx-3)
results="$work/results.jsonl"
: >"$results"
run() { # CONFIG CONNS
  wrk_run "$1 c$2" "${url[$1]}" /v1/tools/search "$work/search.jsonl" "$2"
}
for round in $(seq "$rounds"); do
  for k in 0 1 2 3; do
    config=${configs[$(( (k + round) % 4 ))]}
    run "$config" 1
    run "$config" "$conns"
  done
done

"$py" - "$results" "$root/target/bench/replicas.md" "$rounds" "$duration" "$conns" "$workers" <<'EOF'
import json, statistics, sys
from collections import defaultdict
path, out, rounds, duration, conns, workers = sys.argv[1:]
rows = defaultdict(list)
for line in open(path, encoding="utf-8"):
    r = json.loads(line)
    rows[r["label"]].append(r)
def med(label, key):
    values = [r[key] for r in rows[label]]
    return statistics.median(values), min(values), max(values)
bad = {l: [r["statuses"] for r in rs if set(r["statuses"]) - {"200"}] for l, rs in rows.items()}
lines = [
    f"`bash scripts/bench.d/75-replicas.sh` (ROUNDS={rounds}, {duration} s runs, wrk 1 thread; "
    f"nginx {workers} worker; 2-core VM shared by replicas, nginx and wrk). "
    "Uncached native `search`, sample corpus, rotating QA questions and titles. Median (min–max) over rounds.",
    "",
    "| configuration | c=1 p50 ms | c=1 p99 ms | c=1 req/s | "
    f"c={conns} req/s | c={conns} p50 ms | c={conns} p99 ms |",
    "|---|---|---|---|---|---|---|",
]
for config in ["direct-1", "nginx-1", "nginx-2", "nginx-3"]:
    a, b = f"{config} c1", f"{config} c{conns}"
    f = lambda t: f"{t[0]:.3f} ({t[1]:.3f}–{t[2]:.3f})"
    g = lambda t: f"{t[0]:,.0f} ({t[1]:,.0f}–{t[2]:,.0f})"
    lines.append(f"| {config} | {f(med(a,'p50_ms'))} | {f(med(a,'p99_ms'))} | {g(med(a,'rps'))} | "
                 f"{g(med(b,'rps'))} | {f(med(b,'p50_ms'))} | {f(med(b,'p99_ms'))} |")
# Ratios within each round (same moment, same machine state), then their median.
def ratio(x, y, key):
    xs, ys = rows[x], rows[y]
    return statistics.median(a[key] / b[key] for a, b in zip(xs, ys))
lines += [
    "",
    f"- One hop through nginx, c=1 p50: **{statistics.median(a['p50_ms'] - b['p50_ms'] for a, b in zip(rows['nginx-1 c1'], rows['direct-1 c1'])):+.3f} ms** "
    f"(nginx-1 / direct-1 = {ratio('nginx-1 c1', 'direct-1 c1', 'p50_ms'):.2f}×).",
    f"- Throughput at c={conns}: nginx-1 / direct-1 = {ratio(f'nginx-1 c{conns}', f'direct-1 c{conns}', 'rps'):.2f}×, "
    f"nginx-2 / nginx-1 = {ratio(f'nginx-2 c{conns}', f'nginx-1 c{conns}', 'rps'):.2f}×, "
    f"nginx-3 / nginx-1 = {ratio(f'nginx-3 c{conns}', f'nginx-1 c{conns}', 'rps'):.2f}× (per-round ratios, median).",
    f"- Responses other than 200: {sum(len(v) for v in bad.values())} runs ({ {k: v for k, v in bad.items() if v} or 'none'})."
]
open(out, "w", encoding="utf-8").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
