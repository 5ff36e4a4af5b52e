#!/usr/bin/env bash
# The Python sandbox over HTTP: SandboxFusion's `POST /compat/sandbox-fusion/run_code`
# (`{"code": "print(1+1)", "language": "python"}`, what Tongyi's PythonInterpreter sends)
# under wrk (scripts/bench/server_wrk.lua), release `simweb serve`, 2 cores.
#   bounded load: 1, 2 and 4 connections, ROUNDS rounds interleaved, for each
#     `python.memory_reset` (auto, the default, copy and scan);
#   saturation: python.max_concurrency 2 with a 200 ms queue wait and http.max_in_flight
#     8, loaded with 16 connections (2× the in-flight cap): every answer must be
#     200, 429 or 503.
# Writes target/bench/sandbox-http.md (paste into BENCHMARKS.md "Python sandbox").
#
# Knobs: ROUNDS (3), DURATION s (8), WARMUP s (2), SIMWEB_BIN (target/release/simweb).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
samples="${SIMWEB_WIKI_SAMPLES:-$root/../shared/data/wiki}"
rounds="${ROUNDS:-3}"
duration="${DURATION:-8}"
warmup="${WARMUP:-2}"
bin="${SIMWEB_BIN:-$root/target/release/simweb}"
work="${SANDBOX_HTTP_WORK:-$root/target/bench/sandbox-http-work}"
lua="$root/scripts/bench/server_wrk.lua"
tag=sandbox-http
source "$root/scripts/bench/http.sh"
py="$SIMWEB_HOME/venv/bin/python"
port=18280

command -v wrk >/dev/null || { apt-get install -y wrk >&2 || { apt-get update -q >&2 && apt-get install -y wrk >&2; }; }
[ -x "$bin" ] || cargo build -q --release -p simweb --bin simweb
rm -rf "$work"
mkdir -p "$work"
"$bin" ingest --out "$work/corpus" "$samples"/*.bz2 >&2
printf '{"code": "print(1+1)", "language": "python"}\n' >"$work/run_code.jsonl"
for reset in auto copy scan; do
  printf '[python]\nmemory_reset = "%s"\n' "$reset" >"$work/$reset.toml"
done
cat >"$work/saturated.toml" <<'EOF'
[http]
max_in_flight = 8
[python]
max_concurrency = 2
queue_timeout_ms = 200
EOF

pid=""
stop() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; }; return 0; }
trap stop EXIT
start() { # CONFIG
  stop
  "$bin" serve --data "$work/corpus" --addr "127.0.0.1:$port" --config "$1" \
    --state-dir "$work/state" >"$work/serve.log" 2>&1 &
  pid=$!
  wait_ready "http://127.0.0.1:$port/readyz" "$pid" "$work/serve.log"
}
results="$work/results.jsonl"
: >"$results"
run() { # LABEL CONNS
  wrk_run "$1" "http://127.0.0.1:$port" /compat/sandbox-fusion/run_code "$work/run_code.jsonl" "$2"
}
for round in $(seq "$rounds"); do
  case $((round % 3)) in
    1) order="auto copy scan" ;; 2) order="copy scan auto" ;; *) order="scan auto copy" ;;
  esac
  for reset in $order; do
    start "$work/$reset.toml"
    run "$reset c1" 1
    run "$reset c2" 2
    run "$reset c4" 4
  done
done
start "$work/saturated.toml"
run "saturated c16" 16
stop

"$py" - "$results" "$root/target/bench/sandbox-http.md" "$rounds" "$duration" <<'EOF'
import json, statistics, sys
from collections import defaultdict
path, out, rounds, duration = sys.argv[1:]
rows = defaultdict(list)
for line in open(path, encoding="utf-8"):
    r = json.loads(line)
    rows[r["label"]].append(r)
lines = [
    f"`bash scripts/bench.d/35-sandbox-http.sh` (ROUNDS={rounds}, {duration} s runs, wrk 1 thread, "
    "release `simweb serve` on the same 2-core VM as wrk). `POST /compat/sandbox-fusion/run_code` "
    "with `print(1+1)`; median (min–max) over rounds.",
    "",
    "| memory reset | connections | req/s | p50 ms | p99 ms | non-200 |",
    "|---|---|---|---|---|---|",
]
for label in [f"{r} c{c}" for r in ("auto", "copy", "scan") for c in (1, 2, 4)]:
    rs = rows[label]
    m = lambda k: (statistics.median(r[k] for r in rs), min(r[k] for r in rs), max(r[k] for r in rs))
    bad = sum(sum(v for c, v in r["statuses"].items() if c != "200") for r in rs)
    reset, conns = label.split()
    f = lambda t, d: f"{t[0]:,.{d}f} ({t[1]:,.{d}f}–{t[2]:,.{d}f})"
    lines.append(f"| {reset} | {conns[1:]} | {f(m('rps'), 0)} | {f(m('p50_ms'), 2)} | {f(m('p99_ms'), 2)} | {bad} |")
sat = rows["saturated c16"][0]
lines += [
    "",
    f"Saturation (`python.max_concurrency` 2, 200 ms queue wait, `http.max_in_flight` 8; 16 connections): "
    f"{sat['rps']:,.0f} req/s, statuses {sat['statuses']}, socket errors {sat['errors']}.",
]
open(out, "w", encoding="utf-8").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
