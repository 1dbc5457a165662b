"""Step (c) of the close and what follows it: issue, documents, events.

- issued_invoices: runs the dbt macro issue_invoices (one transaction: numbers the drafts and
  appends them to the issued tables, refusing stale drafts and any blocker). It runs only
  once the dbt build and every blocking check on the drafts passed.
- invoice_documents: renders, stores and records the PDFs of the month (invoice_renderer).
- invoice_events: publishes their billing.invoice.generated.v1 events from the outbox.
"""

from decimal import Decimal
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource

from billing import db
from billing.roles import Role
from orchestration.defs.dbt_project import BILLING_DBT_PROJECT, invocation_target
from orchestration.defs.partitions import MONTHLY, ONE_MONTH_PER_RUN, period_of
from orchestration.defs.resources import BillingResource, CloseLock, dbt_profile
from warehouse.transform import period_vars

# Keys are [schema, name], as dagster-dbt names the models (billing/invoice_drafts, ...).
ISSUED_INVOICES = dg.AssetKey(["billing", "issued_invoices"])
INVOICE_DOCUMENTS = dg.AssetKey(["billing", "invoice_documents"])
INVOICE_EVENTS = dg.AssetKey(["billing", "invoice_events"])


def _issued(billing: BillingResource, period: str) -> dict[str, tuple[str, Decimal]]:
    url, role = billing.role_url(Role.TRANSFORMER)
    with db.connect(url, role=role) as conn:
        rows = conn.execute(
            "select invoice_number, currency, total from billing.issued_invoices where period = %s",
            (period,),
        ).fetchall()
    return {str(number): (str(currency), Decimal(str(total))) for number, currency, total in rows}


def _last_close(billing: BillingResource, period: str) -> tuple[Any, ...] | None:
    url, role = billing.role_url(Role.TRANSFORMER)
    with db.connect(url, role=role) as conn:
        return conn.execute(
            "select close_id, kind, closed_at, invoice_count, event_count"
            " from billing.period_closes where period = %s order by close_id desc limit 1",
            (period,),
        ).fetchone()


def _totals_markdown(issued: dict[str, tuple[str, Decimal]]) -> str:
    per_currency: dict[str, tuple[int, Decimal]] = {}
    for currency, total in issued.values():
        count, amount = per_currency.get(currency, (0, Decimal("0")))
        per_currency[currency] = (count + 1, amount + total)
    rows = ["| currency | invoices | total |", "| --- | ---: | ---: |"]
    rows += [
        f"| {currency} | {count} | {amount:.2f} |"
        for currency, (count, amount) in sorted(per_currency.items())
    ]
    return "\n".join(rows)


@dg.asset(
    key=ISSUED_INVOICES,
    deps=[
        dg.AssetKey(["billing", "invoice_drafts"]),
        dg.AssetKey(["billing", "invoice_draft_lines"]),
        dg.AssetKey(["intermediate", "int_invoiceable_charges"]),
        dg.AssetKey(["billing", "close_blockers"]),
    ],
    partitions_def=MONTHLY,
    backfill_policy=ONE_MONTH_PER_RUN,
    group_name="invoicing",
    kinds={"dbt", "postgres"},
    description=(
        "The issue step (SPEC section 4, step c): the month's drafts numbered "
        "INV-YYYYMM-NNNNNN and appended to billing.issued_invoices, issued_invoice_lines and "
        "issued_invoice_events in one transaction (dbt macro issue_invoices). Issued rows are "
        "never rebuilt: closing a closed month again issues nothing new (only replacements "
        "of voided invoices)."
    ),
)
def issued_invoices(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    billing: BillingResource,
    close_lock: CloseLock,  # held for the whole run: closes never interleave
) -> dg.MaterializeResult[None]:
    """Issue the partition's drafts in one transaction."""
    period = period_of(context.partition_key)
    before = _issued(billing, period)
    url, _ = billing.role_url(Role.TRANSFORMER)
    with dbt_profile(url):
        invocation = dbt.cli(
            ["run-operation", "issue_invoices", *period_vars(period)],
            manifest=BILLING_DBT_PROJECT.manifest_path,
            raise_on_error=False,
            # The build's folder: its partial parse (same vars) spares a full parse.
            target_path=invocation_target(f"close-{period}-{context.run.run_id[:8]}"),
        )
        messages = [
            str(event.raw_event["info"].get("msg", ""))
            for event in invocation.stream_raw_events()
            if event.raw_event["info"].get("level") in ("warn", "error")
        ]
    if not invocation.is_successful():
        raise dg.Failure(
            description=f"the issue of {period} was refused or failed, nothing issued: "
            + " ".join(message.strip() for message in messages[-3:]),
        )
    after = _issued(billing, period)
    new = {number: value for number, value in after.items() if number not in before}
    close = _last_close(billing, period)
    numbers = sorted(new)
    metadata: dict[str, Any] = {
        "period": dg.MetadataValue.text(period),
        "invoices_issued": dg.MetadataValue.int(len(new)),
        "invoices_of_period": dg.MetadataValue.int(len(after)),
        "numbers": dg.MetadataValue.text(f"{numbers[0]} .. {numbers[-1]}" if numbers else "-"),
        "totals": dg.MetadataValue.md(_totals_markdown(new)),
    }
    if close is not None:
        metadata["close_kind"] = dg.MetadataValue.text(str(close[1]))
        metadata["closed_at"] = dg.MetadataValue.text(str(close[2]))
        metadata["events_billed"] = dg.MetadataValue.int(int(close[4]) if new else 0)
    if not new:
        context.log.info(f"{period}: nothing new to issue ({len(after)} invoice(s) already)")
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=INVOICE_DOCUMENTS,
    deps=[ISSUED_INVOICES],
    partitions_def=MONTHLY,
    backfill_policy=ONE_MONTH_PER_RUN,
    group_name="invoicing",
    kinds={"python", "pdf"},
    description=(
        "One PDF per issued invoice of the month (and a void notice per voided one), stored "
        "once under invoices/YYYY/MM/ (file:// or s3:// with SSE-KMS) and recorded in "
        "billing.invoice_documents with its sha256; each invoice's event goes to the outbox."
    ),
)
def invoice_documents(
    context: dg.AssetExecutionContext, billing: BillingResource
) -> dg.MaterializeResult[None]:
    """Render, store and record the month's pending documents (invoice_renderer)."""
    from invoice_renderer import default_workers, render_pending

    period = period_of(context.partition_key)
    settings = billing.settings()
    workers = billing.render_workers or default_workers()
    report = render_pending(settings, billing.endpoints().database_url, period, workers)
    metadata = {
        "documents_recorded": dg.MetadataValue.int(report.recorded),
        "stored": dg.MetadataValue.int(report.stored),
        "already_stored": dg.MetadataValue.int(report.already_stored),
        "events_queued": dg.MetadataValue.int(report.events),
        "failures": dg.MetadataValue.int(len(report.failures)),
        "documents_per_second": dg.MetadataValue.float(round(report.per_second, 1)),
        "documents_uri": dg.MetadataValue.text(settings.documents_uri),
    }
    if report.failures:
        raise dg.Failure(
            description=(
                f"{len(report.failures)} document(s) of {period} not rendered (the others are "
                "kept): " + "; ".join(f"{f.document}: {f.reason}" for f in report.failures[:5])
            ),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=INVOICE_EVENTS,
    deps=[INVOICE_DOCUMENTS],
    partitions_def=MONTHLY,
    backfill_policy=ONE_MONTH_PER_RUN,
    group_name="invoicing",
    kinds={"nats"},
    description=(
        "billing.invoice.generated.v1 events of the stored invoices, sent from the outbox to "
        "stream BILLING_INVOICES exactly once per invoice (Nats-Msg-Id = invoice number)."
    ),
)
def invoice_events(billing: BillingResource) -> dg.MaterializeResult[None]:
    """Publish the outbox's pending events."""
    from invoice_renderer import publish_pending

    endpoints = billing.endpoints()
    report = publish_pending(billing.settings(), endpoints.database_url, endpoints.nats_url)
    return dg.MaterializeResult(
        metadata={
            "published": dg.MetadataValue.int(report.published),
            "duplicates": dg.MetadataValue.int(report.duplicates),
            "found_in_stream": dg.MetadataValue.int(report.found_in_stream),
            "marked_published": dg.MetadataValue.int(report.marked),
        }
    )


CLOSE_ASSETS = [issued_invoices, invoice_documents, invoice_events]
