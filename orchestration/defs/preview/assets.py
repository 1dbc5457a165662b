"""The current (open) month's preview as an asset (issue 20, docs/preview.md).

billing/current_month_preview is `billing preview` of the month now running: the close's own
dbt models (finance.preview.build_preview: +invoice_previews, +invoice_preview_lines,
+unpriced_charges, +catalogue_coverage, without the data tests) built for that month under
the close lock, nothing issued. The dbt assets are partitions of ended months only (the
current month cannot be closed), so the open month is this one unpartitioned asset, placed
after the models it builds in the invoicing group.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import psycopg
from dagster_dbt import get_asset_key_for_model

from billing import db
from billing.periods import Period
from billing.roles import Role
from finance.preview import (
    PREVIEW_SELECTION,
    CloseRunningError,
    Preview,
    build_preview,
    read_preview,
)
from orchestration.defs.resources import BillingResource

CURRENT_MONTH_PREVIEW = dg.AssetKey(["billing", "current_month_preview"])
# The relations the preview build leaves for readers: its upstream in the lineage graph.
PREVIEW_MODELS = tuple(selected.removeprefix("+") for selected in PREVIEW_SELECTION)
# Metadata of each materialization: the newest landed event the build could see.
LAST_STREAM_SEQUENCE = "last_stream_sequence"


def current_period(now: datetime | None = None) -> Period:
    """The month running now (UTC): the one the preview asset builds."""
    return Period.of(now or datetime.now(UTC))


@contextmanager
def transformer_connection(
    billing: BillingResource,
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection as billing_transformer (it reads raw); needs no NATS."""
    settings = billing.settings()
    url, role = db.role_url(settings, billing.owner_database_url(), Role.TRANSFORMER)
    with db.connect(url, role=role) as conn:
        yield conn


def last_stream_sequence(billing: BillingResource) -> int:
    """The stream sequence of the newest landed event (0: none yet)."""
    with transformer_connection(billing) as conn:
        row = conn.execute(
            "select coalesce(max(stream_sequence), 0) from raw.message_charged"
        ).fetchone()
    return int(str(row[0])) if row else 0


def _totals_markdown(preview: Preview) -> str:
    per_currency: dict[str, tuple[int, Decimal]] = {}
    for draft in preview.drafts:
        count, amount = per_currency.get(draft.currency, (0, Decimal("0")))
        per_currency[draft.currency] = (count + 1, amount + draft.total)
    rows = ["| currency | drafts | total |", "| --- | ---: | ---: |"]
    rows += [
        f"| {currency} | {count} | {amount} |"
        for currency, (count, amount) in sorted(per_currency.items())
    ]
    return "\n".join(rows)


def _metadata(preview: Preview, sequence: int, built: bool) -> dict[str, Any]:
    built_at = max((draft.built_at for draft in preview.drafts), default=None)
    return {
        "period": dg.MetadataValue.text(preview.period.label),
        "built": dg.MetadataValue.bool(built),
        "closed": dg.MetadataValue.bool(preview.closed),
        "drafts": dg.MetadataValue.int(len(preview.drafts)),
        "lines": dg.MetadataValue.int(sum(draft.line_count for draft in preview.drafts)),
        "totals": dg.MetadataValue.md(_totals_markdown(preview)),
        "unpriced_events": dg.MetadataValue.int(sum(row.events for row in preview.unpriced)),
        "coverage_gaps": dg.MetadataValue.int(len(preview.gaps)),
        "built_at": dg.MetadataValue.text(str(built_at) if built_at else "-"),
        LAST_STREAM_SEQUENCE: dg.MetadataValue.int(sequence),
    }


def current_month_preview_asset(
    dbt_assets: dg.AssetsDefinition, max_age: timedelta
) -> dg.AssetsDefinition:
    """The preview of the current month, after the preview models of `dbt_assets`; shown as
    not fresh when its last build is older than `max_age`."""

    @dg.asset(
        key=CURRENT_MONTH_PREVIEW,
        deps=[get_asset_key_for_model([dbt_assets], model) for model in PREVIEW_MODELS],
        group_name="invoicing",
        kinds={"dbt", "postgres"},
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=max_age),
        description=(
            "The current (open) month's DRAFT invoices, unpriced events and coverage gaps, as "
            "the close would issue them now (docs/preview.md): billing.invoice_previews and "
            "billing.invoice_preview_lines built for that month by the close's own dbt models, "
            "under the close lock; no number taken, nothing issued or published."
        ),
    )
    def current_month_preview(
        context: dg.AssetExecutionContext, billing: BillingResource
    ) -> dg.MaterializeResult[None]:
        """`billing preview` of the month running now."""
        period = current_period()
        settings = billing.settings()
        owner_url = billing.owner_database_url()
        sequence = last_stream_sequence(billing)  # read first: every event up to it is in
        try:
            built = build_preview(settings, owner_url, period)
        except CloseRunningError as busy:
            raise dg.Failure(
                description=f"preview of {period} not built: {busy} (or let the next schedule "
                "tick or sensor request refresh it)"
            ) from None
        preview = read_preview(settings, owner_url, period)
        context.log.info(
            f"preview of {period}: {len(preview.drafts)} draft(s), events up to stream "
            f"sequence {sequence}"
        )
        return dg.MaterializeResult(metadata=_metadata(preview, sequence, built))

    return current_month_preview
