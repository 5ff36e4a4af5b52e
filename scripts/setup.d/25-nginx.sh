#!/usr/bin/env bash
# nginx (Debian's package) for the load-balancer tests and the replica benchmark
# (deploy/nginx/). Only the binary is used: tests start it with their own config; the
# package's own service is kept from starting (policy-rc.d) so nothing binds port 80.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
nginx_bin() { command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }; }
if bin=$(nginx_bin); then log "nginx present: $("$bin" -v 2>&1)"; exit 0; fi
[ "$(id -u)" = 0 ] || die "nginx is missing: install Debian's nginx-light (needs root)"
policy=/usr/sbin/policy-rc.d
had_policy=0; [ -e "$policy" ] && had_policy=1
[ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; }
export DEBIAN_FRONTEND=noninteractive
{ apt-get install -y -qq --no-install-recommends nginx-light \
  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light; }; } >/dev/null \
  || { [ $had_policy = 1 ] || rm -f "$policy"; die "nginx could not be installed (apt-get install nginx-light)"; }
[ $had_policy = 1 ] || rm -f "$policy"
bin=$(nginx_bin) || die "nginx-light installed but no nginx binary found"
log "nginx installed: $("$bin" -v 2>&1)"
