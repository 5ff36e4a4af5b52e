#!/usr/bin/env bash
# Search: latency (p50/p99) and throughput of simweb's `search` tool (through the whole
# tool layer; cold = cache off, cached = second pass with the cache on) against bm25s and
# Lucene (Anserini's BM25 defaults, scripts/bench/SearchLucene.java: the engine Search-R1 and
# BrowseComp-Plus use through Pyserini) on the same corpus and the same queries, interleaved
# A B C A B C in one invocation, plus recall@10 of all on the QA set (wikidump/tests/data/qa.jsonl).
#
# Corpus (tools/examples/search_bench.rs `prepare`): the four sample dumps are ingested,
# every passage of that corpus is written REPLICAS times as JSONL (replica r > 0: id
# prefix `r{r}:`, title suffix ` (replica r)`), and that JSONL is ingested by simweb and
# indexed by bm25s and Lucene. Queries: the QA questions, then 300 English article titles.
# Writes target/bench/search.md (paste into BENCHMARKS.md "Search and visit").
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
samples="${SIMWEB_WIKI_SAMPLES:-$root/../shared/data/wiki}"
replicas="${REPLICAS:-20}"
rounds="${ROUNDS:-3}"
# The peers: bm25s in $venv, Lucene as ${lucene[@]} (installs both when missing).
source scripts/bench/peers.sh

# PROFILE=dev reuses a dev build (dependencies at opt-level 3, simweb crates unoptimised).
profile="${PROFILE:-release}"
cargo build -q --profile "$profile" -p simweb-tools --example search_bench
profile_dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
bin="${CARGO_TARGET_DIR:-target}/$profile_dir/examples/search_bench"
work="${SEARCH_BENCH_WORK:-$root/target/bench/search-work}"
rm -rf "$work/big" "$work/bm25s" "$work/lucene"
"$bin" prepare --samples "$samples" --qa wikidump/tests/data/qa.jsonl --replicas "$replicas" --work "$work"
"$venv/bin/python" scripts/bench/search_bm25s.py index "$work/passages.jsonl" "$work/bm25s"
"${lucene[@]}" index "$work/passages.jsonl" "$work/lucene"

results="$work/results.jsonl"
: >"$results"
for _ in $(seq "$rounds"); do
  for workers in 1 2; do
    "$bin" run --corpus "$work/big" --queries "$work/queries.jsonl" --mode cold --workers "$workers" >>"$results"
    "$venv/bin/python" scripts/bench/search_bm25s.py run "$work/bm25s" "$work/queries.jsonl" "$workers" >>"$results"
    "${lucene[@]}" run "$work/lucene" "$work/queries.jsonl" "$workers" >>"$results"
    "$bin" run --corpus "$work/big" --queries "$work/queries.jsonl" --mode cached --workers "$workers" >>"$results"
  done
done

mkdir -p target/bench
passages=$(wc -l <"$work/passages.jsonl")
queries=$(wc -l <"$work/queries.jsonl")
"$PY_SYS" - "$results" "$passages" "$queries" "$replicas" "$rounds" <<'PYEOF' | tee target/bench/search.md
import json, os, platform, statistics, sys
path, passages, queries, replicas, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = [json.loads(l) for l in open(path) if l.strip()]
def pick(engine, mode, workers):
    return [r for r in rows if r["engine"] == engine and r["mode"] == mode and r["workers"] == workers]
print(f"Build profile: {os.environ.get('PROFILE', 'release')}. Corpus: the 4 samples' passages x {replicas} replicas = {passages} passages (JSONL, same for all); "
      f"{queries} queries (QA questions + article titles), one query per call; {rounds} interleaved rounds; "
      f"Lucene: Anserini 0.25.0 (Lucene 9.9.1) defaults, one untimed JIT warm-up pass first; "
      f"{os.cpu_count()} cores, {platform.machine()}. Medians over rounds (min-max).\n")
print("| engine | mode | workers | p50 ms | p99 ms | queries/s | recall@10 (QA) | throughput vs bm25s |")
print("|---|---|---|---|---|---|---|---|")
for workers in (1, 2):
    base = statistics.median(r["qps"] for r in pick("bm25s", "cold", workers))
    for engine, mode in (("simweb", "cold"), ("simweb", "cached"), ("bm25s", "cold"), ("lucene", "cold")):
        rs = pick(engine, mode, workers)
        if not rs:
            continue
        med = lambda k: statistics.median(r[k] for r in rs)
        span = lambda k: f"{min(r[k] for r in rs):.2f}-{max(r[k] for r in rs):.2f}"
        print(f"| {engine} | {mode} | {workers} | {med('p50_ms'):.2f} ({span('p50_ms')}) | {med('p99_ms'):.2f} | "
              f"{med('qps'):.0f} | {rs[0]['recall_at_10']:.3f} ({rs[0]['judged']} q) | {med('qps') / base:.2f}x |")
PYEOF
