#!/usr/bin/env bash
# Runs every benchmark part in scripts/bench.d/*.sh in order (`make bench`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
for part in scripts/bench.d/*.sh; do
  printf '[bench] == %s\n' "$(basename "$part")" >&2
  bash "$part"
done
