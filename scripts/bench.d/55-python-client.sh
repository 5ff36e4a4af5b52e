#!/usr/bin/env bash
# The Python package's per-call cost over bare httpx (and requests), interleaved, against
# one `simweb serve` over the sample corpus (scripts/bench/python_client.py).
# Writes target/bench/python_client.md (paste into BENCHMARKS.md's "Python client").
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
samples="${SIMWEB_WIKI_SAMPLES:-$root/../shared/data/wiki}"
export SIMWEB_BIN="${SIMWEB_BIN:-$root/target/release/simweb}"
work="$root/target/bench/python-client-work"
rm -rf "$work" && mkdir -p "$work"
"$SIMWEB_BIN" ingest --out "$work/corpus" "$samples"/*.bz2 "$samples"/*.xml "$samples"/*.zim >/dev/null
"$SIMWEB_HOME/venv/bin/python" scripts/bench/python_client.py "$work/corpus" \
  --rounds "${ROUNDS:-5}" --calls "${CALLS:-400}" | tee "$root/target/bench/python_client.md"
