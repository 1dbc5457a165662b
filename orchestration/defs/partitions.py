"""Monthly partitions: one partition per billing period (UTC calendar month)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import dagster as dg

from billing.errors import BillingError

FIRST_PERIOD = "2025-01"
_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")

# end_offset 0: a month becomes a partition (closable) only once it has ended.
MONTHLY = dg.MonthlyPartitionsDefinition(start_date=f"{FIRST_PERIOD}-01", timezone="UTC")
# Months are closed one by one, in order: a backfill of several months is one run per month.
ONE_MONTH_PER_RUN = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)


class PeriodNotClosableError(BillingError):
    """The month is not a partition: not a month, before the first one, or not over yet."""


def period_of(partition_key: str) -> str:
    """'2026-10-01' -> '2026-10'."""
    return partition_key[:7]


def period_end(period: str) -> datetime:
    """The first instant after the period (UTC)."""
    year, month = int(period[:4]), int(period[5:7])
    if month == 12:
        return datetime(year + 1, 1, 1, tzinfo=UTC)
    return datetime(year, month + 1, 1, tzinfo=UTC)


def partition_key_of(period: str, now: datetime | None = None) -> str:
    """The partition of a closable period 'YYYY-MM'; refuses months that cannot be closed."""
    if not _PERIOD.match(period):
        raise PeriodNotClosableError(f"{period!r} is not a month: use YYYY-MM, e.g. 2026-10")
    key = f"{period}-01"
    if period < FIRST_PERIOD:
        raise PeriodNotClosableError(
            f"{period} is before the first billing period {FIRST_PERIOD}: nothing to close"
        )
    if period_end(period) > (now or datetime.now(UTC)):
        raise PeriodNotClosableError(
            f"{period} has not ended yet: it can be closed from the 1st of the next month "
            "(00:00 UTC); the schedule closes it at 03:00 UTC that day"
        )
    return key
