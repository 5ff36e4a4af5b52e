#!/usr/bin/env bash
# Scale (issue #11): search latency and throughput over the generated corpora of
# 15-scale.sh, against Lucene (Anserini's BM25 defaults, scripts/bench/SearchLucene.java)
# and bm25s on the very same passages and queries, interleaved simweb / Lucene / bm25s per
# round in one invocation.
#
# Per size: `simweb corpus export` writes the corpus's passages (JSONL), `search_bench
# queries` QUERIES known-item queries (titles of pages spread evenly over the corpus, each
# with itself as the gold title); Lucene and bm25s index that JSONL (index wall and peak RSS reported, not compared:
# simweb's index is built by its ingest, 15-scale.sh). simweb is timed through its whole
# tool layer, cache off (10 pages with snippets); the peers time their engine alone (top 50
# passages, first 10 distinct titles). bm25s runs only up to BM25S_MAX articles (its
# in-memory index does not fit beyond on this machine's budget).
# Knobs: SIZES ("10000 100000"), ROUNDS (2), WORKERS ("1 8"), QUERIES (300),
# BM25S_MAX (100000), SCALE_WORK (target/bench/scale-work), BASELINE (a search_bench binary
# of an earlier build: timed as engine "baseline" in the same rounds, for an A/B of a
# change), BASELINE_CORPUS_SUFFIX (the baseline reads corpus-N<suffix>, e.g. `-old`, when the
# change altered the corpus layout; default: the same corpus). Writes
# target/bench/scale-search.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
work="${SCALE_WORK:-$root/target/bench/scale-work}"
rounds="${ROUNDS:-2}"
bm25s_max="${BM25S_MAX:-100000}"
# The peers: bm25s in $venv, Lucene as ${lucene[@]} (installs both when missing).
source scripts/bench/peers.sh
cargo build -q --release -p simweb -p simweb-tools --bin simweb --example search_bench
simweb="${CARGO_TARGET_DIR:-target}/release/simweb"
bin="${CARGO_TARGET_DIR:-target}/release/examples/search_bench"
# One results line, tagged with the corpus size.
tag() { sed "s/^{/{\"articles\": $n, /"; }
# Indexes the passages once with a peer (ENGINE DIR CMD...), recording wall, peak RSS and size.
index_once() {
  local engine=$1 dir=$2 line
  shift 2
  [ -d "$dir" ] && return
  line=$( { /usr/bin/time -f "%e %M" "$@" >&2; } 2>&1 | tail -1)
  echo "{\"engine\": \"$engine\", \"articles\": $n, \"index_s\": ${line% *}, \"index_rss_kb\": ${line#* }, \"index_bytes\": $(du -sb "$dir" | cut -f1)}" >>"$w/build.jsonl"
}
out="$root/target/bench/scale-search.md"
results="$root/target/bench/scale-search.jsonl"
: >"$results"
mkdir -p "$root/target/bench"
for n in ${SIZES:-10000 100000}; do
  corpus="$work/corpus-$n"
  [ -d "$corpus" ] || { echo "no $corpus: run SIZES=$n scripts/bench.d/15-scale.sh first" >&2; exit 1; }
  w="$root/target/bench/scale-search/$n"
  mkdir -p "$w"
  [ -f "$w/passages.jsonl" ] || "$simweb" corpus export --data "$corpus" --format passages --out "$w/passages.jsonl"
  [ -f "$w/queries.jsonl" ] || "$bin" queries --corpus "$corpus" --queries "${QUERIES:-300}" --out "$w/queries.jsonl"
  index_once lucene "$w/lucene" "${lucene[@]}" index "$w/passages.jsonl" "$w/lucene"
  if [ "$n" -le "$bm25s_max" ]; then
    index_once bm25s "$w/bm25s" "$venv/bin/python" scripts/bench/search_bm25s.py index "$w/passages.jsonl" "$w/bm25s"
  fi
  for _ in $(seq "$rounds"); do
    for workers in ${WORKERS:-1 8}; do
      if [ -n "${BASELINE:-}" ]; then
        "$BASELINE" run --corpus "$corpus${BASELINE_CORPUS_SUFFIX:-}" --queries "$w/queries.jsonl" --mode cold --workers "$workers" \
          | sed 's/"engine":"simweb"/"engine":"baseline"/' | tag >>"$results"
      fi
      "$bin" run --corpus "$corpus" --queries "$w/queries.jsonl" --mode cold --workers "$workers" | tag >>"$results"
      "${lucene[@]}" run "$w/lucene" "$w/queries.jsonl" "$workers" | tag >>"$results"
      if [ -d "$w/bm25s" ]; then
        "$venv/bin/python" scripts/bench/search_bm25s.py run "$w/bm25s" "$w/queries.jsonl" "$workers" | tag >>"$results"
      fi
    done
  done
done

python3 - "$results" "$rounds" "$root/target/bench/scale-search" <<'PYEOF' | tee "$out"
import json, os, pathlib, platform, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{os.cpu_count()} cores, {platform.machine()}; {sys.argv[2]} interleaved rounds; medians over rounds (min-max). "
      "simweb: `search` tool, cache off, 10 pages with snippets; peers: engine only, top 50 passages -> 10 titles.\n")
print("| articles | passages | engine | callers | p50 ms | p99 ms | queries/s | known-item recall@10 | queries/s vs Lucene |")
print("|---|---|---|---|---|---|---|---|---|")
for n in sorted({r["articles"] for r in rows}):
    passages = sum(1 for _ in open(pathlib.Path(sys.argv[3]) / str(n) / "passages.jsonl"))
    for workers in sorted({r["workers"] for r in rows}):
        pick = lambda e: [r for r in rows if r["articles"] == n and r["workers"] == workers and r["engine"] == e]
        base = statistics.median(r["qps"] for r in pick("lucene"))
        for engine in ("baseline", "simweb", "lucene", "bm25s"):
            rs = pick(engine)
            if not rs:
                continue
            med = lambda k: statistics.median(r[k] for r in rs)
            span = lambda k: f"{min(r[k] for r in rs):.2f}-{max(r[k] for r in rs):.2f}"
            print(f"| {n} | {passages} | {engine} | {workers} | {med('p50_ms'):.2f} ({span('p50_ms')}) | "
                  f"{med('p99_ms'):.2f} ({span('p99_ms')}) | {med('qps'):.0f} | {rs[0]['recall_at_10']:.3f} | {med('qps') / base:.2f}x |")
print("\n| articles | engine | index wall s | index peak RSS MB | index MB |")
print("|---|---|---|---|---|")
for n in sorted({r["articles"] for r in rows}):
    build = pathlib.Path(sys.argv[3]) / str(n) / "build.jsonl"
    for line in build.read_text().splitlines() if build.exists() else []:
        b = json.loads(line)
        print(f"| {n} | {b['engine']} | {b['index_s']:.1f} | {b['index_rss_kb'] / 1024:.0f} | {b['index_bytes'] / 1e6:.0f} |")
PYEOF
