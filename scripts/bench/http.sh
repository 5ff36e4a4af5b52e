# Shared by the HTTP benchmarks (bench.d/35-sandbox-http.sh, 50-server.sh,
# 75-replicas.sh); sourced, not run. wrk_run reads the caller's globals: threads
# (default 1), warmup and duration (seconds), lua (the wrk script), work (scratch dir),
# results (the JSONL it appends to) and tag (the log prefix).

# wait_ready URL PID LOG: until URL answers 2xx; exits with LOG if PID dies or after 120 s.
wait_ready() {
  for _ in $(seq 1200); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; echo "exited before it was ready: $1" >&2; exit 1; }
    sleep 0.1
  done
  cat "$3" >&2
  echo "not ready: $1" >&2
  exit 1
}

# wrk_run LABEL URL PATH BODIES CONNS: a warm-up, then the measured run, whose WRKJSON
# line (scripts/bench/server_wrk.lua) is appended to $results.
wrk_run() {
  WRK_PATH=$3 WRK_BODIES=$4 WRK_LABEL="warmup" \
    wrk -t"${threads:-1}" -c"$5" -d"${warmup}s" --timeout 10s -s "$lua" "$2" >/dev/null
  WRK_PATH=$3 WRK_BODIES=$4 WRK_LABEL=$1 \
    wrk -t"${threads:-1}" -c"$5" -d"${duration}s" --timeout 10s --latency -s "$lua" "$2" >"$work/wrk.out"
  grep '^WRKJSON ' "$work/wrk.out" | sed 's/^WRKJSON //' >>"$results"
  printf '[%s] %s: %s\n' "$tag" "$1" "$(grep -E 'Requests/sec|Non-2xx|Socket errors' "$work/wrk.out" | tr -s ' ' | tr '\n' ';')" >&2
}
