#!/usr/bin/env bash
# HTTP server: requests/s, p50 and p99 of `simweb serve` under wrk, against a
# Search-R1-style retriever (FastAPI + uvicorn + bm25s, scripts/bench/retriever_bm25s.py)
# serving the same passages with the same `POST /retrieve` wire format, driven by the same
# wrk script (scripts/bench/server_wrk.lua) in the same invocation, interleaved round by
# round (simweb and peer alternate going first). Then saturation: simweb with a low
# `http.max_in_flight` and with a per-client quota, loaded at twice the limit; every
# response is counted by status (expected: 200/429/503 only, no socket errors).
# Writes target/bench/server.md (paste into BENCHMARKS.md's "HTTP server").
#
# Corpus: the sample dumps are ingested with `simweb ingest`; their passages are exported
# as JSONL by tools/examples/search_bench.rs `prepare --replicas 1` (the chunking simweb
# uses everywhere); that JSONL is what both servers index (simweb: the `big` corpus that
# `prepare` ingests, one document per passage; peer: bm25s). Queries: the QA set's
# questions + 300 English article titles (uncached: rotated, simweb's tool cache off);
# cached: one fixed query, simweb's cache on (the peer has no cache).
#
# Knobs: ROUNDS (3), DURATION s per run (10), WARMUP s (2), CONNS (8), THREADS (1),
# PEER_WORKERS (2), PORT/PEER_PORT (18080/18081), SIMWEB_BIN (target/release/simweb).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
samples="${SIMWEB_WIKI_SAMPLES:-$root/../shared/data/wiki}"
rounds="${ROUNDS:-3}"
duration="${DURATION:-10}"
warmup="${WARMUP:-2}"
conns="${CONNS:-8}"
threads="${THREADS:-1}"
peer_workers="${PEER_WORKERS:-2}"
port="${PORT:-18080}"
peer_port="${PEER_PORT:-18081}"
venv="$SIMWEB_HOME/bench-bm25s"
PY_SYS="${NATIVE_PYTHON:-/usr/bin/python3}"
bin="${SIMWEB_BIN:-$root/target/release/simweb}"
work="${SERVER_BENCH_WORK:-$root/target/bench/server-work}"
lua="$root/scripts/bench/server_wrk.lua"
tag=server
source "$root/scripts/bench/http.sh"

if ! command -v wrk >/dev/null; then
  # Debian's wrk 4.1.0 (pinned by the distribution release); needs root.
  apt-get install -y wrk >&2 || { apt-get update -q >&2 && apt-get install -y wrk >&2; }
fi
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import bm25s, fastapi, uvicorn' 2>/dev/null; then
  "$PY_SYS" -m venv "$venv"
  "$venv/bin/pip" install -q --require-hashes -r scripts/requirements-bench.txt >&2
fi
[ -x "$bin" ] || cargo build -q --release -p simweb --bin simweb
cargo build -q --release -p simweb-tools --example search_bench
search_bench="${CARGO_TARGET_DIR:-target}/release/examples/search_bench"

# ---- corpus and queries
mkdir -p "$work"
"$bin" ingest --out "$work/base" "$samples"/*.bz2 "$samples"/*.xml "$samples"/*.zim >&2
"$search_bench" prepare --samples "$samples" --qa wikidump/tests/data/qa.jsonl --replicas 1 --work "$work" >&2
rm -rf "$work/bm25s"
"$venv/bin/python" scripts/bench/retriever_bm25s.py index "$work/passages.jsonl" "$work/bm25s"
"$PY_SYS" - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
qs = [json.loads(l)["q"] for l in open(f"{work}/queries.jsonl", encoding="utf-8") if l.strip()]
fixed = qs[0]
def write(name, make, queries):
    with open(f"{work}/{name}", "w", encoding="utf-8") as f:
        for q in queries:
            f.write(json.dumps(make(q), ensure_ascii=False) + "\n")
retrieve = lambda q: {"queries": [q], "topk": 3, "return_scores": True}
search = lambda q: {"arguments": {"query": [q]}}
write("retrieve-many.jsonl", retrieve, qs)
write("retrieve-one.jsonl", retrieve, [fixed])
write("search-many.jsonl", search, qs)
write("search-one.jsonl", search, [fixed])
EOF

# ---- server configs
cat >"$work/cached.toml" <<'EOF'
[layers.cache]
enabled = true
EOF
cat >"$work/uncached.toml" <<'EOF'
[layers.cache]
enabled = false
EOF
sat_inflight=4
cat >"$work/sat-inflight.toml" <<EOF
[http]
max_in_flight = $sat_inflight
[layers.cache]
enabled = false
EOF
sat_quota=50
cat >"$work/sat-quota.toml" <<EOF
[layers.cache]
enabled = false
[layers.tools.search]
client_quota = { per_second = $sat_quota, burst = $sat_quota }
[layers.tools.retrieve]
client_quota = { per_second = $sat_quota, burst = $sat_quota }
EOF

simweb_pid=""
peer_pid=""
cleanup() {
  [ -n "$simweb_pid" ] && kill "$simweb_pid" 2>/dev/null && wait "$simweb_pid" 2>/dev/null
  [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null && wait "$peer_pid" 2>/dev/null
  return 0
}
trap cleanup EXIT

start_simweb() { # CONFIG
  stop_simweb
  "$bin" serve --data "$work/big" --addr "127.0.0.1:$port" --config "$1" \
    --state-dir "$work/state" --no-python >"$work/simweb.log" 2>&1 &
  simweb_pid=$!
  wait_ready "http://127.0.0.1:$port/readyz" "$simweb_pid" "$work/simweb.log"
}
stop_simweb() {
  if [ -n "$simweb_pid" ]; then
    kill "$simweb_pid" 2>/dev/null || true
    wait "$simweb_pid" 2>/dev/null || true
    simweb_pid=""
  fi
}

results="$work/results.jsonl"
: >"$results"

BM25S_INDEX="$work/bm25s" "$venv/bin/python" scripts/bench/retriever_bm25s.py serve "$peer_port" "$peer_workers" \
  >"$work/peer.log" 2>&1 &
peer_pid=$!
wait_ready "http://127.0.0.1:$peer_port/healthz" "$peer_pid" "$work/peer.log"

simweb_url="http://127.0.0.1:$port"
peer_url="http://127.0.0.1:$peer_port"
load_avg=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$rounds"); do
  for mode in cached uncached; do
    start_simweb "$work/$mode.toml"
    bodies=many
    [ "$mode" = cached ] && bodies=one
    pair=(simweb bm25s)
    [ $((round % 2)) -eq 0 ] && pair=(bm25s simweb)
    for server in "${pair[@]}"; do
      if [ "$server" = simweb ]; then
        wrk_run "load|simweb|/retrieve|$mode|$round|$conns|$mode" "$simweb_url" /retrieve "$work/retrieve-$bodies.jsonl" "$conns"
        wrk_run "load|simweb|/v1/tools/search|$mode|$round|$conns|$mode" "$simweb_url" /v1/tools/search "$work/search-$bodies.jsonl" "$conns"
      else
        wrk_run "load|bm25s|/retrieve|$mode|$round|$conns|-" "$peer_url" /retrieve "$work/retrieve-$bodies.jsonl" "$conns"
      fi
    done
  done
done

# ---- saturation: twice the configured concurrency / a quota far below capacity
sat_conns=$((2 * sat_inflight))
start_simweb "$work/sat-inflight.toml"
wrk_run "sat|simweb|/retrieve|uncached|1|$sat_conns|http.max_in_flight = $sat_inflight" "$simweb_url" /retrieve "$work/retrieve-many.jsonl" "$sat_conns"
wrk_run "sat|simweb|/v1/tools/search|uncached|1|$sat_conns|http.max_in_flight = $sat_inflight" "$simweb_url" /v1/tools/search "$work/search-many.jsonl" "$sat_conns"
wrk_run "sat|bm25s|/retrieve|uncached|1|$sat_conns|no limit (peer has none)" "$peer_url" /retrieve "$work/retrieve-many.jsonl" "$sat_conns"
start_simweb "$work/sat-quota.toml"
wrk_run "sat|simweb|/retrieve|uncached|1|$sat_conns|retrieve client_quota $sat_quota/s, burst $sat_quota" "$simweb_url" /retrieve "$work/retrieve-many.jsonl" "$sat_conns"
stop_simweb

meta=$("$venv/bin/python" - "$work" "$rounds" "$duration" "$warmup" "$conns" "$threads" "$peer_workers" "$load_avg" <<'EOF'
import json, sys, subprocess
import bm25s, fastapi, uvicorn
work, rounds, duration, warmup, conns, threads, workers, load = sys.argv[1:]
out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
wrk = (out.stdout + out.stderr).split()[1]
count = lambda p: sum(1 for l in open(p, encoding="utf-8") if l.strip())
print(json.dumps({"passages": count(f"{work}/passages.jsonl"), "queries": count(f"{work}/queries.jsonl"),
                  "rounds": rounds, "duration": duration, "warmup": warmup, "conns": conns,
                  "threads": threads, "peer_workers": workers, "load": load, "wrk": wrk,
                  "bm25s": bm25s.__version__, "fastapi": fastapi.__version__, "uvicorn": uvicorn.__version__}))
EOF
)
mkdir -p target/bench
"$PY_SYS" scripts/bench/server_report.py "$results" "$meta" | tee target/bench/server.md
