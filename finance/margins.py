"""Margins at a glance (issue 21): `billing margins --month YYYY-MM --by DIMENSION`.

Usage revenue, operator cost and margin come from billing.margins (exact per-event sums, the
dbt model's figures; the report's usage totals are that model's totals). Subscription
revenue, which has no operator cost, comes from the month's invoices: the issued, not void
ones of a closed month, the drafts of an open month (as last built: `billing preview`). By
operator or direction, subscriptions are one row of their own (they belong to no operator).
Credit notes do not exist yet (issue 23); when they do, they reduce the revenue here.

Every figure is summed in SQL (numeric); nothing is priced or rounded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import errors, sql

from billing.errors import SchemaNotMigratedError
from billing.periods import Period

Connection = psycopg.Connection[Any]

SUBSCRIPTIONS = "(subscriptions)"


class Dimension(StrEnum):
    OPERATOR = "operator"
    DIRECTION = "direction"
    TIER = "tier"
    TENANT = "tenant"


# The column of billing.margins and of the invoice lines each dimension groups by; None: the
# subscriptions have no value for it and make a row of their own.
_COLUMNS: dict[Dimension, tuple[str, str | None]] = {
    Dimension.OPERATOR: ("operator_id", None),
    Dimension.DIRECTION: ("direction", None),
    Dimension.TIER: ("account_tier", "account_tier"),
    Dimension.TENANT: ("tenant_id", "tenant_id"),
}

_CLOSED = "select exists (select from billing.period_closes where period = %s and kind = 'close')"

_SUBSCRIPTION_LINES = {
    True: sql.SQL(
        "select {key} as key, invoices.currency, lines.amount"
        " from billing.invoice_lines as lines"
        " inner join billing.invoices as invoices using (invoice_number)"
        " where invoices.period = %(period)s and invoices.status = 'issued'"
        " and lines.line_type = 'subscription'"
    ),
    False: sql.SQL(
        "select {key} as key, lines.currency, lines.amount"
        " from billing.invoice_draft_lines as lines"
        " where lines.period = %(period)s and lines.line_type = 'subscription'"
    ),
}

_REPORT = sql.SQL("""
    with usage as (
        select
            cast({usage_key} as text) as key,
            currency,
            sum(revenue) as usage_revenue,
            sum(cost) as cost,
            sum(event_count) as events
        from billing.margins
        where period = %(period)s
        group by 1, 2
    ),

    subscriptions as (
        select cast(key as text) as key, currency, sum(amount) as subscription_revenue
        from ({subscription_lines}) as lines
        group by 1, 2
    ),

    combined as (
        select
            coalesce(usage.key, subscriptions.key) as key,
            coalesce(usage.currency, subscriptions.currency) as currency,
            coalesce(usage.usage_revenue, 0) as usage_revenue,
            coalesce(subscriptions.subscription_revenue, 0) as subscription_revenue,
            coalesce(usage.cost, 0) as cost,
            coalesce(usage.events, 0) as events
        from usage
        full outer join subscriptions
            on usage.key = subscriptions.key and usage.currency = subscriptions.currency
    ),

    reported as (
        select
            key,
            currency,
            usage_revenue,
            subscription_revenue,
            usage_revenue + subscription_revenue as revenue,
            cost,
            usage_revenue + subscription_revenue - cost as margin,
            events
        from combined
    )

    select
        key,
        currency,
        usage_revenue,
        subscription_revenue,
        revenue,
        cost,
        margin,
        case when revenue <> 0 then margin / revenue end as margin_ratio,
        events
    from reported
    -- Negative margins first, the largest loss at the top; then the largest revenue.
    order by case when margin < 0 then margin end nulls last, revenue desc, currency, key
""")

_TENANT_NAMES = "select tenant_id::text, name from ref.accounts"


@dataclass(frozen=True)
class MarginRow:
    key: str  # the dimension's value ('(subscriptions)' for their own row)
    label: str  # for people: a tenant's name and short id, else the key
    currency: str
    usage_revenue: Decimal
    subscription_revenue: Decimal
    revenue: Decimal
    cost: Decimal
    margin: Decimal
    margin_ratio: Decimal | None  # margin / revenue, exact; None when revenue is 0
    events: int


@dataclass(frozen=True)
class MarginReport:
    period: Period
    dimension: Dimension
    closed: bool  # subscriptions from issued invoices (closed) or from the drafts (open)
    rows: tuple[MarginRow, ...]

    def totals(self) -> dict[str, MarginRow]:
        """Per currency, the sum of the rows (amounts in different currencies never add)."""
        totals = {}
        for currency in sorted({row.currency for row in self.rows}):
            rows = [row for row in self.rows if row.currency == currency]
            revenue = sum((row.revenue for row in rows), Decimal(0))
            margin = sum((row.margin for row in rows), Decimal(0))
            totals[currency] = MarginRow(
                key="total",
                label="total",
                currency=currency,
                usage_revenue=sum((row.usage_revenue for row in rows), Decimal(0)),
                subscription_revenue=sum((row.subscription_revenue for row in rows), Decimal(0)),
                revenue=revenue,
                cost=sum((row.cost for row in rows), Decimal(0)),
                margin=margin,
                margin_ratio=margin / revenue if revenue else None,
                events=sum(row.events for row in rows),
            )
        return totals


def margin_report(conn: Connection, period: Period, dimension: Dimension) -> MarginReport:
    """The month's margins by one dimension, negative margins first."""
    closed_row = conn.execute(_CLOSED, (period.label,)).fetchone()
    closed = bool(closed_row and closed_row[0])
    usage_column, line_column = _COLUMNS[dimension]
    line_key = (
        sql.Identifier("lines", line_column)
        if line_column is not None
        else sql.Literal(SUBSCRIPTIONS)
    )
    query = _REPORT.format(
        usage_key=sql.Identifier(usage_column),
        subscription_lines=_SUBSCRIPTION_LINES[closed].format(key=line_key),
    )
    names = dict(conn.execute(_TENANT_NAMES).fetchall()) if dimension is Dimension.TENANT else {}
    try:
        found = conn.execute(query, {"period": period.label}).fetchall()
    except errors.UndefinedTable as error:
        raise SchemaNotMigratedError(
            f"the margins are not built in this database ({error.diag.message_primary}): run "
            f"`billing preview --month {period}` or a close, then try again"
        ) from None
    rows = []
    for key, currency, usage, subscriptions, revenue, cost, margin, ratio, events in found:
        text = str(key) if key is not None else "(none)"
        name = names.get(text)
        rows.append(
            MarginRow(
                key=text,
                label=f"{name} ({text[:8]})" if name else text,
                currency=str(currency).strip(),
                usage_revenue=usage,
                subscription_revenue=subscriptions,
                revenue=revenue,
                cost=cost,
                margin=margin,
                margin_ratio=ratio,
                events=int(events),
            )
        )
    return MarginReport(period, dimension, closed, tuple(rows))
