#!/usr/bin/env bash
# Times the README's two commands as a newcomer and CI meet them: a fresh clone of HEAD
# (committed work only) with an empty target/, on this machine. Appends one line per run to
# target/bench/build-time.md (the figures in BENCHMARKS.md, "Build and test time").
#
#   bash scripts/time-build.sh ci    # `bash .ci/run` (= make test); registry and
#                                    # ~/.cache/simweb may be warm, as on CI
#   bash scripts/time-build.sh run   # `make run` until /readyz answers 200, with an
#                                    # empty SIMWEB_CACHE (pip, npm, AOT) as well
#
# Never run it beside another build: the machine has 2 cores and the figure is wall time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:?usage: time-build.sh ci|run}
work=$(mktemp -d /tmp/simweb-time-build.XXXXXX)
# The clone sits beside a link to ../shared, as a CI checkout does.
mkdir -p "$work/repo-parent"
ln -s "$(cd "$root/.." && pwd)/shared" "$work/repo-parent/shared"
git clone -q "$root" "$work/repo-parent/simweb"
cd "$work/repo-parent/simweb"
rev=$(git rev-parse --short HEAD)
mkdir -p "$root/target/bench"
report="$root/target/bench/build-time.md"
started=$(date +%s)
case "$what" in
  ci)
    CI=true bash .ci/run >"$work/log" 2>&1 || { tail -50 "$work/log"; echo "ci failed; log: $work/log" >&2; exit 1; }
    secs=$(( $(date +%s) - started ))
    tests=$(grep -E '^test result:' "$work/log" | awk '{p+=$4; f+=$6; i+=$8} END {print p" passed, "f" failed, "i" ignored"}')
    line="| \`bash .ci/run\` (fresh clone, empty target/) | $rev | ${secs} s ($(( secs / 60 )) min $(( secs % 60 )) s) | $tests |"
    ;;
  run)
    port=${PORT:-18099}
    export SIMWEB_CACHE="$work/cache"
    make run ADDR="127.0.0.1:$port" >"$work/log" 2>&1 &
    pid=$!
    secs=""
    while kill -0 "$pid" 2>/dev/null; do
      if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
        secs=$(( $(date +%s) - started )); break
      fi
      sleep 2
    done
    # `make run` serves until stopped: stop the server (and make) once it answered.
    pkill -TERM -f "simweb serve --data $PWD/data/sample" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ -n "$secs" ] || { tail -50 "$work/log"; echo "make run never answered /readyz; log: $work/log" >&2; exit 1; }
    line="| \`make run\` → /readyz 200 (fresh clone, empty target/ and SIMWEB_CACHE) | $rev | ${secs} s ($(( secs / 60 )) min $(( secs % 60 )) s) | |"
    ;;
  *) echo "usage: time-build.sh ci|run" >&2; exit 2 ;;
esac
echo "$line" | tee -a "$report"
echo "log: $work/log" >&2
