#!/usr/bin/env bash
# Chromium for the headless-browser tests (the dbt docs site, issue 21): Debian's `chromium`.
# Idempotent: returns at once when a chromium is on PATH. Used by `make tools-browser` (a
# prerequisite of `make test`). Installing needs root (apt-get); otherwise it says what to do.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    echo "error: the browser tests need Chromium and this is not root: run" \
        "'sudo apt-get install --no-install-recommends chromium', then make test again" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
chromium --version
