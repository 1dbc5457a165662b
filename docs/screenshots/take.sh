#!/usr/bin/env bash
# The asset lineage of the Dagster UI as PNGs, on the demo data: run `make demo` first.
# Writes docs/img/asset-lineage.png (every group, upstream to downstream) and
# docs/img/asset-lineage-invoicing.png (the issue step, documents and events, with their inputs).
# Usage: docs/screenshots/take.sh [OUTPUT_DIR]   (BILLING_STATE_DIR selects other data)
# Needs Debian's chromium (apt-get install -y chromium).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT_DIR="${1:-$ROOT/docs/img}"
PYTHON="$ROOT/.venv/bin/python"
BILLING="$ROOT/.venv/bin/billing"
PORT="$("$PYTHON" -c 'from billing.localservices import free_port; print(free_port())')"
URL="http://127.0.0.1:$PORT"
PROFILE="$(mktemp -d)"
LOCATION="orchestration.definitions"
mkdir -p "$OUT_DIR"

"$BILLING" ui --port "$PORT" >/tmp/billing-ui-screenshot.log 2>&1 &
UI_PID=$!
cleanup() {
    kill -INT "$UI_PID" 2>/dev/null || true
    wait "$UI_PID" 2>/dev/null || true
    rm -rf "$PROFILE"
}
trap cleanup EXIT

# Wait (bounded) until the UI has loaded the code location and serves the asset graph.
for _ in $(seq 1 120); do
    if curl -sf -H 'Content-Type: application/json' \
        -d '{"query":"{ assetNodes { id } }"}' "$URL/graphql" | grep -q '"id"'; then
        break
    fi
    sleep 1
done

# The UI greets a first visitor with a newsletter dialog; mark it seen in the instance.
curl -sf -H 'Content-Type: application/json' -d '{"query":"mutation { setNuxSeen }"}' \
    "$URL/graphql" >/dev/null

shoot() {
    chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$PROFILE" --hide-scrollbars --window-size=1800,1000 \
        --virtual-time-budget=30000 --screenshot="$2" "$URL$1" 2>/dev/null
    test -s "$2" && echo "wrote $2"
}
shoot "/asset-groups" "$OUT_DIR/asset-lineage.png"
shoot "/locations/$LOCATION/asset-groups/invoicing/lineage" "$OUT_DIR/asset-lineage-invoicing.png"
