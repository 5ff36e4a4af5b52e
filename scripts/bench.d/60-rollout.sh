#!/usr/bin/env bash
# Rollout environment overhead: a scripted ReAct rollout (search, visit, python, answer
# per episode) over the ingested Ray Charles ZIM sample; reports the share of episode time
# spent in tools vs the model call vs the agent itself. Writes target/bench/rollout.md
# (paste into BENCHMARKS.md's "Policy" section).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
mkdir -p target/bench
# The example builds in the dev profile, where every crate is opt-level 3 (see Cargo.toml).
cargo run -q -p simweb-policy --example bench_rollout -- \
  --runs "${RUNS:-5}" --tasks "${TASKS:-12}" --concurrency "${CONCURRENCY:-4}" ${TOKENIZER:+--tokenizer} \
  | tee target/bench/rollout.md
