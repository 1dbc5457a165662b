"""The issued suite: a blocking check on the issued invoices that gates the documents."""

import dagster as dg

from expectations.suites import issued_invoices_suite
from orchestration.defs.close.assets import ISSUED_INVOICES
from orchestration.defs.gx import suite_check
from orchestration.defs.partitions import MONTHLY
from orchestration.defs.resources import BillingResource


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
    return suite_check(billing, issued_invoices_suite())
