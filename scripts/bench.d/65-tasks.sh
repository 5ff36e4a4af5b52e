#!/usr/bin/env bash
# Task synthesis (issue #12): `simweb tasks synth` on the sample corpus and on a large
# generated corpus (scripts/scale/gen_dump.py, shared with the scale bench): fact-graph
# build time, tasks/s, the rejection funnel, and the pass rate per level of a simple
# search-then-visit baseline agent (scripts/bench/tasks_baseline.py).
# Knobs: TASKS_N (150), TASKS_ARTICLES (100000), SCALE_WORK (target/bench/scale-work),
# SIMWEB_BIN (target/release/simweb). Writes target/bench/tasks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
samples="${SIMWEB_WIKI_SAMPLES:-$root/../shared/data/wiki}"
export SIMWEB_BIN="${SIMWEB_BIN:-$root/target/release/simweb}"
py="$SIMWEB_HOME/venv/bin/python"
n="${TASKS_N:-150}"
articles="${TASKS_ARTICLES:-100000}"
scale="${SCALE_WORK:-$root/target/bench/scale-work}"
work="$root/target/bench/tasks-work"
out="$root/target/bench/tasks.md"
rm -rf "$work" && mkdir -p "$work" "$scale"
"$SIMWEB_BIN" ingest --out "$work/samples" "$samples"/*.bz2 "$samples"/*.xml "$samples"/*.zim >/dev/null 2>&1
big="$scale/corpus-$articles"
if [ ! -f "$big/manifest.json" ]; then
  prefix="$scale/enwiki-gen-$articles"
  [ -f "$prefix.xml.bz2" ] || "$py" scripts/scale/gen_dump.py --articles "$articles" --out "$prefix" --samples "$samples" >"$prefix.txt"
  "$SIMWEB_BIN" ingest --out "$big" --multistream-index "$prefix-index.txt.bz2" "$prefix.xml.bz2" >/dev/null 2>&1
fi
{
  echo "Machine: $(nproc) cores, $(uname -m); $(date -u +%F); $n tasks per corpus, seed 1, levels 1,2,3."
  for corpus in samples big; do
    dir="$work/samples"; [ "$corpus" = big ] && dir="$big"
    rm -rf "$dir/tasks"  # the cached fact graph: time its build too
    echo
    echo "### $corpus ($dir)"
    echo
    echo '```'
    /usr/bin/time -f "wall %e s, CPU %U s user, peak RSS %M KB" \
      "$SIMWEB_BIN" tasks synth --data "$dir" --out "$work/$corpus.jsonl" --n "$n" --seed 1 2>&1
    echo "second run (cached fact graph):"
    "$SIMWEB_BIN" tasks synth --data "$dir" --out "$work/$corpus-again.jsonl" --n "$n" --seed 1 2>&1 | tail -1
    cmp -s "$work/$corpus.jsonl" "$work/$corpus-again.jsonl" && echo "byte-identical: yes" || echo "byte-identical: NO"
    echo '```'
    echo
    "$py" scripts/bench/tasks_baseline.py "$dir" "$work/$corpus.jsonl"
  done
} | tee "$out"
