#!/usr/bin/env bash
# Re-resolve scripts/requirements*.in into hash-locked requirements*.txt (needs PyPI).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q pip-tools==7.5.1
for f in requirements requirements-bench; do
  "$tmp/venv/bin/pip-compile" -q --generate-hashes --allow-unsafe --strip-extras \
    --output-file "$f.txt" "$f.in"
done
