#!/usr/bin/env bash
# Policy / model runner benchmark: tiny-model tokens/s at batch 1/4/16 on the CPU, simweb's
# runner vs the same loop in Python onnxruntime, interleaved in one invocation. Writes
# target/bench/policy.md (paste into BENCHMARKS.md's "Policy / model runner" section).
# `EP=cuda` measures the CUDA path on a GPU machine (no peer there).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
mkdir -p target/bench
# `cargo run --example` builds it in the dev profile, where every crate (deps and
# simweb-policy) is opt-level 3: the same code as release, without a second full build.
cargo run -q -p simweb-policy --example tokens_per_sec -- \
  --runs "${RUNS:-5}" --new "${NEW_TOKENS:-64}" --threads "${THREADS:-2}" --ep "${EP:-cpu}" \
  | tee target/bench/policy.md
