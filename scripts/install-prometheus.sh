#!/usr/bin/env bash
# Installs Debian's prometheus package (prometheus + promtool) into .tools/, without root:
# `apt-get download` + `dpkg -x`. Idempotent: returns at once when both are there.
# Used by `make tools-observe` (a prerequisite of `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
BIN="$TOOLS/bin"
if [[ -x "$BIN/prometheus" && -x "$BIN/promtool" ]]; then
    exit 0
fi
mkdir -p "$BIN"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
download() { (cd "$work" && apt-get download prometheus >/dev/null 2>&1); }
if ! download; then
    # No package list yet (a fresh machine): refresh it when we may.
    if [[ "$(id -u)" == 0 ]]; then
        apt-get update -qq >/dev/null
    fi
    download || {
        echo "error: cannot download Debian's prometheus package (apt-get download prometheus);" \
            "run 'apt-get update' as root, or put prometheus and promtool in $BIN" >&2
        exit 1
    }
fi
rm -rf "$TOOLS/prometheus"
dpkg -x "$work"/prometheus_*.deb "$TOOLS/prometheus"
ln -sf "$TOOLS/prometheus/usr/bin/prometheus" "$BIN/prometheus"
ln -sf "$TOOLS/prometheus/usr/bin/promtool" "$BIN/promtool"
"$BIN/promtool" --version | head -1
