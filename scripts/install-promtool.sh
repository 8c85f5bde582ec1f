#!/usr/bin/env bash
# Installs promtool (the Prometheus rule and config linter) into $CRM_SYNC_CACHE_DIR/promtool/,
# taken from Debian's prometheus package: extracted, not installed, so no Prometheus daemon is
# set up on the machine. test/ops/alerts-and-dashboard.test.ts runs it; .ci/run calls this.
# Prints the path of the binary.
set -euo pipefail
dest="${CRM_SYNC_CACHE_DIR:-$HOME/.cache/crm-sync}/promtool"
if [ -x "$dest/promtool" ]; then echo "$dest/promtool"; exit 0; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# apt's download sandbox user must be able to write there.
chmod 755 "$tmp"
if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
  apt-get update -qq
  (cd "$tmp" && apt-get download -qq prometheus >/dev/null)
fi
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/extracted"
mkdir -p "$dest"
cp "$tmp/extracted/usr/bin/promtool" "$dest/promtool"
"$dest/promtool" --version >/dev/null
echo "$dest/promtool"
