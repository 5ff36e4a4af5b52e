#!/usr/bin/env bash
# Corpus ingest. Part 1: MediaWiki dump parse + wikitext clean throughput and peak RSS of
# simweb-wikidump (examples/clean_dump --bench: reader + cleaner, no store/index) against
# wikiextractor 3.1.0 on the same file, interleaved A B A B in one invocation.
# Writes target/bench/ingest-parse.md (paste into BENCHMARKS.md's "Corpus ingest").
#
# wikiextractor is installed hash-checked from scripts/requirements-bench.txt into a
# bench-only venv ($SIMWEB_HOME/bench-wikiextractor); it is never a runtime dependency.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
samples="${SIMWEB_WIKI_SAMPLES:-$root/../shared/data/wiki}"
dump="$samples/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
rounds="${ROUNDS:-5}"
venv="$SIMWEB_HOME/bench-wikiextractor"
PY_SYS="${NATIVE_PYTHON:-/usr/bin/python3}"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import wikiextractor' 2>/dev/null; then
  req=$(mktemp)
  # Only wikiextractor's pinned, hashed entry (it has no dependencies).
  awk '/^wikiextractor==/{p=1} p&&/^[a-z]/&&!/^wikiextractor==/{p=0} p&&!/# via/' \
    scripts/requirements-bench.txt >"$req"
  "$PY_SYS" -m venv "$venv"
  "$venv/bin/pip" install -q --require-hashes --no-deps -r "$req" >&2
  rm -f "$req"
fi

# CLEAN_DUMP_BIN: an already built clean_dump (skips the build).
if [ -z "${CLEAN_DUMP_BIN:-}" ]; then
  cargo build -q --release -p simweb-wikidump --example clean_dump
fi
ours="${CLEAN_DUMP_BIN:-target/release/examples/clean_dump}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
xml="$work/enwiki-sample.xml"
bzip2 -dc "$dump" >"$xml"
xml_bytes=$(stat -c %s "$xml")

# run NAME CMD... : appends "wall_s max_rss_kb user_s sys_s" to $work/NAME
run() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
    cat "$work/stderr" >&2
    exit 1
  }
  cat "$work/time" >>"$work/$name"
}

for _ in $(seq "$rounds"); do
  run simweb-bz2 "$ours" "$dump" --bench --threads 1
  rm -rf "$work/wx" && run wikiextractor-bz2 "$venv/bin/python" -m wikiextractor.WikiExtractor "$dump" -o "$work/wx" --json -q --processes 1
  run simweb-xml "$ours" "$xml" --bench
  rm -rf "$work/wx" && run wikiextractor-xml "$venv/bin/python" -m wikiextractor.WikiExtractor "$xml" -o "$work/wx" --json -q --processes 1
done
articles=$("$ours" "$dump" --bench | sed -E 's/.*"articles":([0-9]+).*/\1/')

mkdir -p target/bench
"$PY_SYS" - "$work" "$xml_bytes" "$articles" "$rounds" <<'EOF' | tee target/bench/ingest-parse.md
import statistics, sys, os, platform
work, xml_bytes, articles, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def load(name):
    rows = [l.split() for l in open(os.path.join(work, name)) if l.strip()]
    return [float(r[0]) for r in rows], [int(r[1]) for r in rows], [float(r[2]) + float(r[3]) for r in rows]
print(f"Input: enwiki sample, {xml_bytes/1e6:.2f} MB decompressed XML, {articles} articles; "
      f"{rounds} interleaved rounds; 1 worker each; {os.cpu_count()} cores, {platform.machine()}.\n")
print("| input | tool | wall s, median (min–max) | MB/s | articles/s | CPU s, median | peak RSS MB | speed-up (wall) |")
print("|---|---|---|---|---|---|---|---|")
for kind in ("bz2", "xml"):
    s_t, s_m, s_c = load(f"simweb-{kind}")
    w_t, w_m, w_c = load(f"wikiextractor-{kind}")
    for tool, t, m, c in (("simweb-wikidump", s_t, s_m, s_c), ("wikiextractor 3.1.0", w_t, w_m, w_c)):
        med = statistics.median(t)
        ratio = statistics.median(w_t) / med if tool.startswith("simweb") else 1.0
        print(f"| {kind} | {tool} | {med:.2f} ({min(t):.2f}–{max(t):.2f}) | {xml_bytes/1e6/med:.1f} | "
              f"{articles/med:.0f} | {statistics.median(c):.2f} | {max(m)/1024:.0f} | {ratio:.1f}× |")
EOF

# Part 2: the whole `simweb ingest` pipeline (read + clean + sled store + tantivy page and
# passage indexes, merged, published) against wikiextractor 3.1.0 (extraction only: it
# writes JSON text and builds no index) on the same bz2, interleaved, at 1 and 2 workers.
# Writes target/bench/ingest-full.md.
simweb="${SIMWEB_BIN:-target/release/simweb}"
[ -n "${SIMWEB_BIN:-}" ] || cargo build -q --release -p simweb --bin simweb

for threads in 1 2; do
  for _ in $(seq "$rounds"); do
    rm -rf "$work/corpus" && run "simweb-$threads" "$simweb" ingest --threads "$threads" --out "$work/corpus" "$dump"
    rm -rf "$work/wx" && run "wikiextractor-$threads" "$venv/bin/python" -m wikiextractor.WikiExtractor "$dump" -o "$work/wx" --json -q --processes "$threads"
  done
done
articles=$("$simweb" corpus stats --data "$work/corpus" --json | "$PY_SYS" -c 'import json,sys; print(json.load(sys.stdin)["totals"]["articles"])')
passages=$("$simweb" corpus stats --data "$work/corpus" --json | "$PY_SYS" -c 'import json,sys; print(json.load(sys.stdin)["totals"]["passages"])')
corpus_mb=$(du -sm "$work/corpus" | cut -f1)

"$PY_SYS" - "$work" "$xml_bytes" "$articles" "$passages" "$corpus_mb" "$rounds" <<'EOF' | tee target/bench/ingest-full.md
import statistics, sys, os, platform
work, xml_bytes, articles, passages, corpus_mb, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
def load(name):
    rows = [l.split() for l in open(os.path.join(work, name)) if l.strip()]
    return [float(r[0]) for r in rows], [int(r[1]) for r in rows], [float(r[2]) + float(r[3]) for r in rows]
print(f"Input: enwiki sample bz2, {xml_bytes/1e6:.2f} MB decompressed XML, {articles} articles -> "
      f"{passages} passages, data dir {corpus_mb} MB; {rounds} interleaved rounds per thread count; "
      f"{os.cpu_count()} cores, {platform.machine()}.\n")
print("| workers | tool | wall s, median (min–max) | MB/s | articles/s | CPU s, median | peak RSS MB | speed-up (wall) |")
print("|---|---|---|---|---|---|---|---|")
for threads in (1, 2):
    s = load(f"simweb-{threads}")
    w = load(f"wikiextractor-{threads}")
    for tool, (t, m, c) in (("simweb ingest (store + index)", s), ("wikiextractor 3.1.0 (text only)", w)):
        med = statistics.median(t)
        ratio = statistics.median(w[0]) / med if tool.startswith("simweb") else 1.0
        print(f"| {threads} | {tool} | {med:.2f} ({min(t):.2f}–{max(t):.2f}) | {xml_bytes/1e6/med:.1f} | "
              f"{articles/med:.0f} | {statistics.median(c):.2f} | {max(m)/1024:.0f} | {ratio:.1f}× |")
EOF
