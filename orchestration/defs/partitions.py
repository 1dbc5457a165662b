"""Monthly partitions: one partition per billing period (UTC calendar month)."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from billing.errors import BillingError
from billing.periods import Period

FIRST_PERIOD = Period(2025, 1)

# end_offset 0: a month becomes a partition (closable) only once it has ended.
MONTHLY = dg.MonthlyPartitionsDefinition(start_date=FIRST_PERIOD.partition_key, timezone="UTC")
# Months are closed one by one, in order: a backfill of several months is one run per month.
ONE_MONTH_PER_RUN = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)


class PeriodNotClosableError(BillingError):
    """The month is not a partition: not a month, before the first one, or not over yet."""


def period_of(partition_key: str) -> str:
    """'2026-10-01' -> '2026-10'."""
    return Period.from_partition_key(partition_key).label


def partition_key_of(period: Period | str, now: datetime | None = None) -> str:
    """The partition of a closable period; refuses months that cannot be closed."""
    if isinstance(period, str):
        period = Period.parse(period)
    if period < FIRST_PERIOD:
        raise PeriodNotClosableError(
            f"{period} is before the first billing period {FIRST_PERIOD}: nothing to close"
        )
    if period.end_instant > (now or datetime.now(UTC)):
        raise PeriodNotClosableError(
            f"{period} has not ended yet: it can be closed from the 1st of the next month "
            "(00:00 UTC); the schedule closes it at 03:00 UTC that day"
        )
    return period.partition_key
