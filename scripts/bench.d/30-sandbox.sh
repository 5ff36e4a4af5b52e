#!/usr/bin/env bash
# Python sandbox benchmark: std/sci engines vs a native CPython subprocess and Pyodide on
# Node, interleaved in one invocation. Writes target/bench/sandbox.md (paste into
# BENCHMARKS.md's "Python sandbox" section).
# Pyodide is installed (pinned) into $SIMWEB_HOME/bench, a bench-only dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
PYODIDE_VERSION=314.0.7
bench="$SIMWEB_HOME/bench"
if [ ! -f "$bench/node_modules/pyodide/package.json" ] \
   || ! grep -q "\"version\": \"$PYODIDE_VERSION\"" "$bench/node_modules/pyodide/package.json"; then
  mkdir -p "$bench"
  [ -f "$bench/package.json" ] || printf '{"name":"simweb-bench","private":true,"type":"module"}\n' >"$bench/package.json"
  (cd "$bench" && npm install --no-audit --no-fund --save-exact "pyodide@$PYODIDE_VERSION" >&2)
fi
# The native baseline: a real interpreter, not the pyenv shim on PATH (adds 60-75 ms).
export NATIVE_PYTHON="${NATIVE_PYTHON:-/usr/bin/python3}"
mkdir -p target/bench
# The numpy peer: the repo venv's interpreter (numpy is in the hash-locked lock file).
export NUMPY_PYTHON="${NUMPY_PYTHON:-$SIMWEB_HOME/venv/bin/python}"
# Release, as the server runs it (the guest code is the same AOT-compiled .cwasm either way).
cargo run -q --release -p simweb-sandbox --example bench_python -- "${ROUNDS:-5}" "${PER_ROUND:-40}" "$bench" \
  | tee target/bench/sandbox.md
