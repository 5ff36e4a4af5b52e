#!/usr/bin/env bash
# simweb's own Python package (python/): `pip install ./python` into the repo venv, with
# its build backend (flit-core) and dependencies already there from the hash-locked
# scripts/requirements.txt, so nothing unpinned is fetched. Reinstalled when its files change.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
key=$(find python/pyproject.toml python/README.md python/src -type f ! -path '*/__pycache__/*' -print0 \
  | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if stamp_ok python-package "$key"; then log "python package up to date"; exit 0; fi
"$PY" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation --no-index \
  --force-reinstall ./python
stamp_set python-package "$key"
log "python package installed: $("$PY" -c 'import simweb; print(simweb.__version__)')"
