#!/usr/bin/env bash
# Scale (issue #11): ingest of generated multistream dumps (scripts/scale/gen_dump.py,
# real sample wikitext recombined) at several sizes, against the decode floor measured in
# the same run: `lbzip2 -d -n 2` of the same file (Debian's lbzip2), interleaved
# decode / ingest per round. Reports wall, CPU, peak RSS (/usr/bin/time), the data dir by
# part, and bytes per article.
# Knobs: SIZES ("10000 30000"), ROUNDS (2), SCALE_WORK (target/bench/scale-work),
# SIMWEB_BIN (target/release/simweb). Writes target/bench/scale.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export SIMWEB_HOME="${SIMWEB_HOME:-$root/.simweb}"
samples="${SIMWEB_WIKI_SAMPLES:-$root/../shared/data/wiki}"
bin="${SIMWEB_BIN:-$root/target/release/simweb}"
work="${SCALE_WORK:-$root/target/bench/scale-work}"
rounds="${ROUNDS:-2}"
command -v lbzip2 >/dev/null || { echo "lbzip2 missing (apt-get install lbzip2)" >&2; exit 1; }
mkdir -p "$work" "$root/target/bench"
out="$root/target/bench/scale.md"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
{
  echo "Machine: $(nproc) cores, $(uname -m); $rounds interleaved rounds per size; $(date -u +%F)."
  echo
  echo "| articles (+redirects) | XML MB | .bz2 MB | lbzip2 -d -n 2 s | ingest wall s | ratio | ingest CPU s | CPU s per XML MB | peak RSS MB | data dir MB (× .bz2) | docstore / pages idx / passages idx MB | data bytes per article |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$out"
for n in ${SIZES:-10000 30000}; do
  prefix="$work/enwiki-gen-$n"
  if [ ! -f "$prefix.xml.bz2" ]; then
    "$SIMWEB_HOME/venv/bin/python" scripts/scale/gen_dump.py --articles "$n" --out "$prefix" --samples "$samples" >"$prefix.txt"
  fi
  redirects=$(sed -E 's/.* ([0-9]+) redirects.*/\1/' "$prefix.txt")
  xml=$(lbzip2 -d -n 2 -c "$prefix.xml.bz2" | wc -c)
  bz=$(stat -c %s "$prefix.xml.bz2")
  dec=() wall=() cpu=() rss=()
  for r in $(seq "$rounds"); do
    t=$( { /usr/bin/time -f "%e" lbzip2 -d -n 2 -c "$prefix.xml.bz2" >/dev/null; } 2>&1 | tail -1)
    dec+=("$t")
    rm -rf "$work/corpus-$n"
    line=$( { /usr/bin/time -f "%e %U %S %M" "$bin" ingest --out "$work/corpus-$n" "$prefix.xml.bz2" \
      --multistream-index "$prefix-index.txt.bz2" >/dev/null; } 2>&1 | tail -1)
    read -r w u s m <<<"$line"
    wall+=("$w"); cpu+=("$(echo "$u + $s" | bc)"); rss+=("$m")
  done
  d=$(printf '%s\n' "${dec[@]}" | median); w=$(printf '%s\n' "${wall[@]}" | median)
  c=$(printf '%s\n' "${cpu[@]}" | median); m=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
  data=$(du -sb "$work/corpus-$n" | cut -f1)
  ds=$(du -sb "$work/corpus-$n/docstore" | cut -f1)
  pg=$(du -sb "$work/corpus-$n/index/en/pages" | cut -f1)
  ps=$(du -sb "$work/corpus-$n/index/en/passages" | cut -f1)
  awk -v n="$n" -v rd="$redirects" -v xml="$xml" -v bz="$bz" -v d="$d" -v w="$w" -v c="$c" -v m="$m" \
      -v data="$data" -v ds="$ds" -v pg="$pg" -v ps="$ps" -v dl="${dec[*]}" -v wl="${wall[*]}" 'BEGIN {
    printf "| %d (+%d) | %.0f | %.1f | %.2f (%s) | %.2f (%s) | %.1f× | %.1f | %.3f | %.0f | %.0f (%.2f×) | %.0f / %.0f / %.0f | %.0f |\n",
      n, rd, xml/1e6, bz/1e6, d, dl, w, wl, w/d, c, c/(xml/1e6), m/1024, data/1e6, data/bz, ds/1e6, pg/1e6, ps/1e6, data/n }' >>"$out"
done
cat "$out"
