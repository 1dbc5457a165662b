"""Great Expectations suites as blocking asset checks, next to the dbt tests.

- raw_events_suite on raw/message_charged: runs before the dbt build, which it gates;
- invoice_drafts_suite on invoice_drafts: gates the issue step;
- issued_invoices_suite on issued_invoices: gates the documents (numbers, totals).
A failed blocking check stops everything downstream of its asset in the same run.
"""

import dagster as dg

from billing.roles import Role
from expectations.runner import SuiteOutcome, run_suite
from expectations.suites import invoice_drafts_suite, issued_invoices_suite, raw_events_suite
from orchestration.defs.close import ISSUED_INVOICES
from orchestration.defs.partitions import MONTHLY, period_of
from orchestration.defs.resources import BillingResource
from orchestration.defs.sources import RAW_EVENTS


def check_result(outcome: SuiteOutcome) -> dg.AssetCheckResult:
    """The suite's outcome as a check result: every expectation in a table, failures first."""
    failed = [failure.describe() for failure in outcome.failures]
    return dg.AssetCheckResult(
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{outcome.description}: all {len(outcome.outcomes)} expectations met"
            if outcome.success
            else f"{len(failed)} expectation(s) failed: " + "; ".join(failed)
        ),
        metadata={
            "suite": dg.MetadataValue.text(outcome.suite),
            "expectations": dg.MetadataValue.int(len(outcome.outcomes)),
            "failed": dg.MetadataValue.int(len(failed)),
            "results": dg.MetadataValue.md(outcome.markdown()),
            "seconds": dg.MetadataValue.float(round(outcome.seconds, 2)),
        },
    )


@dg.asset_check(
    asset=RAW_EVENTS,
    name="raw_events_suite",
    blocking=True,
    description=(
        "Great Expectations: raw.message_charged has the expected columns, non-null keys, "
        "segments between 1 and 1000, no occurred_at in the future, known directions."
    ),
)
def raw_events_check(billing: BillingResource) -> dg.AssetCheckResult:
    """GX suite raw_events over the landed events."""
    url, role = billing.role_url(Role.AUDITOR)
    return check_result(run_suite(raw_events_suite(), url, role))


@dg.asset_check(
    asset=dg.AssetKey(["billing", "invoice_drafts"]),
    name="invoice_drafts_suite",
    blocking=True,
    partitions_def=MONTHLY,
    description=(
        "Great Expectations: the month's drafts reconcile (subtotal = sum of draft lines, "
        "total = subtotal, line counts agree) and carry no negative amount."
    ),
)
def invoice_drafts_check(
    context: dg.AssetCheckExecutionContext, billing: BillingResource
) -> dg.AssetCheckResult:
    """GX suite invoice_drafts for the partition's month."""
    url, role = billing.role_url(Role.AUDITOR)
    return check_result(
        run_suite(invoice_drafts_suite(period_of(context.partition_key)), url, role)
    )


@dg.asset_check(
    asset=ISSUED_INVOICES,
    name="issued_invoices_suite",
    blocking=True,
    partitions_def=MONTHLY,
    description=(
        "Great Expectations: issued invoice numbers are gapless per period, and every issued "
        "subtotal equals the sum of its issued lines."
    ),
)
def issued_invoices_check(billing: BillingResource) -> dg.AssetCheckResult:
    """GX suite issued_invoices over every issued invoice."""
    url, role = billing.role_url(Role.AUDITOR)
    return check_result(run_suite(issued_invoices_suite(), url, role))


ASSET_CHECKS = [raw_events_check, invoice_drafts_check, issued_invoices_check]
