#!/usr/bin/env bash
# The whole service on this machine, end to end, for one month (default 2026-10):
# embedded services -> sample accounts and tiers -> sample events published to NATS ->
# loader -> the monthly close through Dagster (checks, issue, PDFs, events) -> invoices.
# Re-runnable: a second run publishes the same events (JetStream drops them as duplicates
# within its duplicate window; staging drops them by event_id after it), and the close of a
# closed month issues nothing new.
set -euo pipefail

MONTH="${1:-2026-10}"
EVENTS="${DEMO_EVENTS:-20000}"
TENANTS=50   # samples/*.csv hold 50 sample tenants
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BILLING=(billing)
command -v billing >/dev/null || BILLING=("$ROOT/.venv/bin/billing")

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/7 embedded PostgreSQL and NATS, schema"
"${BILLING[@]}" services up

step "2/7 sample accounts and tiers ($TENANTS tenants)"
"${BILLING[@]}" accounts import samples/accounts.csv
"${BILLING[@]}" tiers import samples/account_tiers.csv

step "3/7 $EVENTS sample charge events for $MONTH, published to stream BILLING"
"${BILLING[@]}" events publish-sample --month "$MONTH" --events "$EVENTS" --tenants "$TENANTS"

step "4/7 the loader lands them (until idle)"
"${BILLING[@]}" events load --until-idle --metrics-port 0

step "5/7 close $MONTH through Dagster: checks, issue, PDFs, events"
"${BILLING[@]}" close --month "$MONTH"

step "6/7 the invoices of $MONTH"
"${BILLING[@]}" invoices list --month "$MONTH"
FIRST="$("${BILLING[@]}" invoices list --month "$MONTH" --format csv | awk -F, 'NR == 2 { print $1 }')"
if [[ -n "$FIRST" ]]; then
    "${BILLING[@]}" invoices show "$FIRST"
fi

step "7/7 where things are"
STATE="${BILLING_STATE_DIR:-$ROOT/.billing}"
DOCS="${BILLING_DOCUMENTS_URI:-file://$STATE/documents}"
CLI=".venv/bin/billing"
command -v billing >/dev/null && [[ "$(command -v billing)" != "$ROOT/.venv/bin/billing" ]] && CLI="billing"
echo "PDFs:        ${DOCS}/invoices/${MONTH:0:4}/${MONTH:5:2}/  (one per invoice, e.g. ${FIRST:-INV-...}.pdf)"
echo "Invoices:    $CLI invoices list --month $MONTH   |   $CLI invoices show ${FIRST:-NUMBER}"
echo "Dagster UI:  $CLI ui     (then open the printed URL: Assets for the lineage, Runs for this close)"
echo "Stop:        make down   (the data stays in ${STATE}; make clean removes it)"
