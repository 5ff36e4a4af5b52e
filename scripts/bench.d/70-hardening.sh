#!/usr/bin/env bash
# Reliability figures of `simweb serve` under hostile load (scripts/bench/hardening.py):
# durable episode writes/s at 1/8/64 concurrent writers, RSS under 10,000 idle
# connections and 10,000 MCP session attempts, and `print(1+1)` latency before, during and
# after a 500-call hostile Python batch. Everything goes to 127.0.0.1, bounded in count
# and time. Writes target/bench/hardening.md (BENCHMARKS.md, "Hardening").
#
# Knobs: ROUNDS (3), SECONDS_PER_RUN (5), IDLE (10000), MCP (10000), HOSTILE (500),
# PORT (18090), SIMWEB_BIN (target/release/simweb).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
samples="${SIMWEB_WIKI_SAMPLES:-$root/../shared/data/wiki}"
port="${PORT:-18090}"
bin="${SIMWEB_BIN:-$root/target/release/simweb}"
work=$(mktemp -d /tmp/simweb-hardening.XXXXXX)
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
[ -x "$bin" ] || cargo build -q --release -p simweb --bin simweb
"$bin" sandbox prepare >/dev/null
"$bin" ingest --out "$work/corpus" "$samples"/enwiki-20250201-head70.xml.bz2 >/dev/null 2>&1
# Short Python limits so that the hostile batch ends in minutes: each bomb is stopped by
# its CPU (2 s), wall (3 s), memory or scratch limit; calls wait at most 10 s for a slot.
cat >"$work/simweb.toml" <<TOML
[python]
queue_timeout_ms = 10000
[python.run]
cpu_ms = 2000
wall_ms = 3000
TOML
"$bin" serve --data "$work/corpus" --addr "127.0.0.1:$port" --state-dir "$work/state" \
  --config "$work/simweb.toml" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
mkdir -p target/bench
{
  echo "Command: \`bash scripts/bench.d/70-hardening.sh\` ($(date -u +%F), $(nproc) cores, commit $(git rev-parse --short HEAD))"
  echo
  python3 scripts/bench/hardening.py --port "$port" --pid "$server" \
    --rounds "${ROUNDS:-3}" --seconds "${SECONDS_PER_RUN:-5}" \
    --idle "${IDLE:-10000}" --mcp "${MCP:-10000}" --hostile "${HOSTILE:-500}"
} | tee target/bench/hardening.md
