"""The raw suite: a blocking check on the landed events that gates the dbt build."""

import dagster as dg

from expectations.suites import raw_events_suite
from orchestration.defs.gx import suite_check
from orchestration.defs.raw.assets import RAW_EVENTS
from orchestration.defs.resources import BillingResource


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
    return suite_check(billing, raw_events_suite())
