#!/bin/sh
# Entry point of the billing image (Dockerfile). It prepares what a read-only root filesystem
# needs, loads the secrets Vault agent wrote, then runs the command:
#
#   billing-entrypoint billing events load ...   any command, run as given (the default)
#   billing-entrypoint close-month                `billing close --month M`: M is
#                                                 BILLING_CLOSE_MONTH, or the previous UTC month
#   billing-entrypoint healthcheck                GET /health/live on BILLING_HEALTH_PORT (9464)
#
# Vault agent (pod annotations, deploy/helm/billing) renders one file per secret into
# /vault/secrets/*.env as `export NAME="value"` lines; they are sourced here, so no secret is
# ever in the pod spec, the chart's values or the image.
set -eu

secrets_dir="${BILLING_VAULT_SECRETS_DIR:-/vault/secrets}"
image_dbt_target="${BILLING_IMAGE_DBT_TARGET:-/opt/billing/dbt-target}"
dbt_target="${BILLING_DBT_TARGET_DIR:-/app/dbt_project/target}"

if [ -d "$secrets_dir" ]; then
    for secrets in "$secrets_dir"/*.env; do
        [ -f "$secrets" ] || continue
        # shellcheck disable=SC1090 # rendered by Vault agent at run time
        . "$secrets"
    done
fi

# With a read-only root filesystem dbt_project/target is an emptyDir: start it with the
# manifest prepared at build time (python -m orchestration.defs.dbt.project), so nothing parses.
if [ -d "$image_dbt_target" ] && [ -d "$dbt_target" ] && [ -w "$dbt_target" ] \
    && [ ! -e "$dbt_target/dagster/manifest.json" ]; then
    cp -R "$image_dbt_target/." "$dbt_target/"
fi

case "${1:-}" in
    close-month)
        shift
        month="${BILLING_CLOSE_MONTH:-}"
        if [ -z "$month" ]; then
            month="$(python -c 'import datetime as d; t = d.datetime.now(d.UTC).date().replace(day=1) - d.timedelta(days=1); print(t.strftime("%Y-%m"))')"
        fi
        echo "billing-entrypoint: closing $month" >&2
        exec billing close --month "$month" "$@"
        ;;
    healthcheck)
        port="${BILLING_HEALTH_PORT:-9464}"
        exec python -c 'import sys, urllib.request; urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health/live", timeout=4)' "$port"
        ;;
    "")
        echo "billing-entrypoint: no command given (try: billing --help)" >&2
        exit 64
        ;;
    *)
        exec "$@"
        ;;
esac
