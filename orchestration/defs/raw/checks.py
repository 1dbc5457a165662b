"""The raw suite: a blocking check on the landed events that gates the dbt build."""

import dagster as dg

from expectations.suites import raw_events_suite
from orchestration.defs.gx import suite_check
from orchestration.defs.partitions import period_of
from orchestration.defs.raw.assets import RAW_EVENTS
from orchestration.defs.resources import BillingResource

# The raw asset is not partitioned; the close runs it in its month's partitioned run.
_PARTITION_TAG = "dagster/partition"


@dg.asset_check(
    asset=RAW_EVENTS,
    name="raw_events_suite",
    blocking=True,
    description=(
        "Great Expectations: raw.message_charged has the expected columns, non-null keys, "
        "segments between 1 and 1000, known directions; the rows of the month being closed "
        "and those landed since the last close are within the loader's time bounds."
    ),
)
def raw_events_check(
    context: dg.AssetCheckExecutionContext, billing: BillingResource
) -> dg.AssetCheckResult:
    """GX suite raw_events over the landed events of the run's month (and the newest)."""
    partition = context.run.tags.get(_PARTITION_TAG)
    settings = billing.settings()
    suite = raw_events_suite(
        period_of(partition) if partition else None,
        max_future_skew=settings.max_future_skew,
        max_event_age=settings.max_event_age,
    )
    return suite_check(billing, suite)
