"""What follows the issue: the PDFs of the issued invoices, then their events.

- invoice_documents: renders, stores and records the PDFs of the month (invoice_renderer).
- invoice_events: publishes their billing.invoice.generated.v1 events from the outbox.
"""

import dagster as dg

from orchestration.defs.close.assets import ISSUED_INVOICES
from orchestration.defs.partitions import MONTHLY, ONE_MONTH_PER_RUN, period_of
from orchestration.defs.resources import BillingResource

INVOICE_DOCUMENTS = dg.AssetKey(["billing", "invoice_documents"])
INVOICE_EVENTS = dg.AssetKey(["billing", "invoice_events"])


class RenderConfig(dg.Config):
    """Run configuration of the documents step (ops.billing__invoice_documents.config)."""

    workers: int = 0  # render processes; 0: one per core (invoice_renderer.default_workers)


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
    context: dg.AssetExecutionContext, config: RenderConfig, billing: BillingResource
) -> dg.MaterializeResult[None]:
    """Render, store and record the month's pending documents (invoice_renderer)."""
    from invoice_renderer import default_workers, render_pending

    period = period_of(context.partition_key)
    settings = billing.settings()
    workers = config.workers or default_workers()
    report = render_pending(settings, billing.endpoints().database_url, period, workers)
    metadata = {
        "documents_recorded": dg.MetadataValue.int(report.recorded),
        "stored": dg.MetadataValue.int(report.stored),
        "already_stored": dg.MetadataValue.int(report.already_stored),
        "copies_stored": dg.MetadataValue.int(report.copies),
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
