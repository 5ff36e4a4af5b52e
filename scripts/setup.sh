#!/usr/bin/env bash
# One-shot, idempotent setup: everything simweb needs that is not Rust source.
# Runs scripts/setup.d/*.sh in order; each step is skipped when its inputs are unchanged.
# Fetches only from registries (PyPI), pinned and hash-checked.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
export SIMWEB_CACHE="${SIMWEB_CACHE:-$HOME/.cache/simweb}"
mkdir -p "$SIMWEB_HOME" "$SIMWEB_CACHE"
cd "$root"
for step in scripts/setup.d/*.sh; do
  printf '[setup] == %s\n' "$(basename "$step")" >&2
  bash "$step"
done
