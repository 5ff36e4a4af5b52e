# Shared helpers for scripts/setup.d/*.sh (sourced, not run).
# Everything fetched comes from a registry by pinned version and is checked by sha256.

: "${SIMWEB_HOME:?SIMWEB_HOME must point at the repo-local runtime dir (.simweb)}"
: "${SIMWEB_CACHE:=$HOME/.cache/simweb}"
export SIMWEB_CACHE
VENV="$SIMWEB_HOME/venv"
PY="$VENV/bin/python"

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# sha256_of FILE -> hex digest
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# stamp_ok NAME KEY: true when step NAME already ran with the same KEY (content hash).
stamp_ok() { [ -f "$SIMWEB_HOME/stamps/$1" ] && [ "$(cat "$SIMWEB_HOME/stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$SIMWEB_HOME/stamps"; printf '%s' "$2" >"$SIMWEB_HOME/stamps/$1"; }

# hash_files FILE... -> one sha256 over the files' contents (for cache keys)
hash_files() { cat "$@" | sha256sum | cut -d' ' -f1; }

# site_packages -> the venv's site-packages dir
site_packages() { "$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
