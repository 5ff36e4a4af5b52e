#!/usr/bin/env bash
# The N largest articles of a MediaWiki .xml.bz2 dump, by their wikitext's `bytes`
# attribute, one title per line (largest first): what `serve_probe.py --visit` reads.
# Redirects are left out (their text is one line).
# Usage: largest_pages.sh DUMP.xml.bz2 [N=100] > titles.txt
set -euo pipefail
dump=${1:?usage: largest_pages.sh DUMP.xml.bz2 [N]}
n=${2:-100}
lbzip2 -dc -n "$(nproc)" "$dump" \
  | LC_ALL=C grep -E -o '<title>[^<]*</title>|<redirect |<text bytes="[0-9]+"' \
  | LC_ALL=C awk '
      /^<title>/ { t = substr($0, 8, length($0) - 15); r = 0; next }
      /^<redirect / { r = 1; next }
      /^<text bytes=/ { if (!r) { b = $0; gsub(/[^0-9]/, "", b); print b "\t" t } }' \
  | sort -t "$(printf '\t')" -k1,1nr -k2,2 | head -n "$n" | cut -f2- \
  | python3 -c 'import html, sys; [print(html.unescape(l.rstrip("\n"))) for l in sys.stdin]'
