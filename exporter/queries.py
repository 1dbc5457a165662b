"""One cheap read-only query per family, and the session settings that keep them harmless.

Each runs as its own autocommit statement (its locks, ACCESS SHARE only, end with it), under
a lock_timeout so that a query never waits behind the close's locks, and a statement_timeout
so that none runs long. The tables they read are small (aggregates, issued invoices, the
outbox) or read through a partial index (unpriced events).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Query:
    """A named query; `name` labels its errors (billing_exporter_query_errors_total)."""

    name: str
    sql: str


# Unpriced events of every period: int_charges_priced's partial index on unpriced rows.
UNPRICED: Final = Query("unpriced_events", "select count(*) from billing.unpriced_charges")

# Events in margin groups (period, tenant, operator, direction) whose margin is negative, of
# the periods not closed yet: what can still be fixed before the invoices go out.
NEGATIVE_MARGIN: Final = Query(
    "negative_margin_charges",
    """
    select coalesce(sum(margins.event_count), 0)
    from billing.margins as margins
    where margins.margin < 0
        and not exists (
            select from billing.period_closes as closes
            where closes.period = margins.period and closes.kind = 'close'
        )
    """,
)

INVOICES_ISSUED: Final = Query("invoices_issued", "select count(*) from billing.issued_invoices")

# The last close run, whatever its outcome: outcome, when it ended, how long it took.
LAST_CLOSE_RUN: Final = Query(
    "last_close_run",
    """
    select outcome, extract(epoch from finished_at)::float8,
        extract(epoch from finished_at - started_at)::float8
    from billing.close_runs
    order by finished_at desc
    limit 1
    """,
)

# The latest period closed ('YYYY-MM' sorts as text), from the issue step's own record: a
# close counts however it was launched (billing close, the CronJob, Dagster's schedule or UI).
LAST_CLOSED_PERIOD: Final = Query(
    "last_closed_period",
    "select max(period) from billing.period_closes where kind = 'close'",
)

# Outbox events not published yet (partial index invoice_outbox_unpublished).
OUTBOX_BACKLOG: Final = Query(
    "outbox_backlog",
    "select count(*) from billing.invoice_outbox where published_at is null",
)

# Events Finance excludes now (the latest row of each event is an exclusion): the table
# itself, through its (event_id, exclusion_id) index; a handful of rows.
EXCLUDED: Final = Query(
    "excluded_events",
    """
    select count(*) from (
        select distinct on (event_id) action
        from billing.event_exclusions
        order by event_id, exclusion_id desc
    ) as latest
    where latest.action = 'exclude'
    """,
)

ALL: Final = (
    UNPRICED,
    EXCLUDED,
    NEGATIVE_MARGIN,
    INVOICES_ISSUED,
    LAST_CLOSE_RUN,
    LAST_CLOSED_PERIOD,
    OUTBOX_BACKLOG,
)


def session_settings(statement_timeout_seconds: float, lock_timeout_seconds: float) -> list[str]:
    """The SET statements of the exporter's session: read-only, bounded in time and locks."""
    return [
        "set default_transaction_read_only = on",
        f"set statement_timeout = {int(statement_timeout_seconds * 1000)}",
        f"set lock_timeout = {int(lock_timeout_seconds * 1000)}",
        "set application_name = 'billing-exporter'",
    ]
