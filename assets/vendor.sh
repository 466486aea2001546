#!/usr/bin/env bash
# vendor.sh refreshes the third-party front-end files in assets/vendor from npm.
# The versions are pinned here; bump them on purpose, then run this script and commit the result.
set -euo pipefail
HTMX=2.0.11
PICO=2.1.1
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "htmx.org@$HTMX" "@picocss/pico@$PICO" >/dev/null)
mkdir -p "$tmp/htmx" "$tmp/pico"
tar xzf "$tmp/htmx.org-$HTMX.tgz" -C "$tmp/htmx"
tar xzf "$tmp/picocss-pico-$PICO.tgz" -C "$tmp/pico"
cp "$tmp/htmx/package/dist/htmx.min.js" vendor/htmx.min.js
cp "$tmp/htmx/package/LICENSE" vendor/htmx.LICENSE
cp "$tmp/pico/package/css/pico.min.css" vendor/pico.min.css
cp "$tmp/pico/package/LICENSE.md" vendor/pico.LICENSE.md
