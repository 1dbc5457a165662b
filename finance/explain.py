"""How an issued invoice line came to be (issue 21): `billing invoices explain NUMBER`.

For each line of an issued invoice it reads, as Finance:
- the line as issued (billing.issued_invoice_lines), and the invoice it replaces, if any,
  with that void's reason;
- the catalogue row it names (pricing rule or tier fee) with its validity, from the
  catalogue seeds of today (ids are versioned: a changed price is a new id, docs/pricing.md);
- the tenant's tier in force over the line's service dates (intermediate.int_account_tier_ranges);
- the events behind a usage line, exactly those the issued event map holds for it
  (billing.issued_invoice_events): count, segments, first and last, a sample, or all of them
  as CSV, each with the price today's build gives it, so a re-priced event shows.

Nothing here prices anything: every figure is read from relations the close and the dbt
models wrote. Reading the event map scans billing.issued_invoice_events (it is keyed by
event, not by invoice: an index by invoice would cost every close a second 10M-row index),
so it is read per invoice, twice (every line's sums, then every line's sample), never per line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from billing import issued
from billing.errors import RefusedError
from billing.issued import InvoiceLine, IssuedInvoice
from billing.periods import Period
from finance.invoices import InvoiceNotFoundError, validate_invoice_number

Connection = psycopg.Connection[Any]

SAMPLE_SIZE = 5

EVENT_COLUMNS = (
    "event_id",
    "occurred_at",
    "operator_id",
    "direction",
    "segments",
    "account_tier",
    "rule_id",
    "unit_price",
    "amount",
    "stream_sequence",
)


class LineNotFoundError(RefusedError):
    """The invoice has no line with that number."""


@dataclass(frozen=True)
class CatalogueRow:
    """The pricing rule or tier fee a line names, with its validity [from, to)."""

    kind: str  # 'pricing rule' or 'tier fee'
    row_id: str
    price: Decimal
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True)
class TierRange:
    account_tier: str
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True)
class EventSummary:
    """The events the issued event map holds for one line."""

    events: int
    segments: int
    exact_amount: Decimal  # the events' exact amounts summed (before the line's rounding)
    first_occurred_at: datetime | None
    last_occurred_at: datetime | None
    repriced: int  # events today's build prices with another rule or price than the line
    sample: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class LineExplanation:
    line: InvoiceLine
    catalogue_row: CatalogueRow | None
    tiers: tuple[TierRange, ...]
    events: EventSummary | None  # None for a subscription line (no events)
    late: bool  # usage of an earlier month, billed on this month's invoice


@dataclass(frozen=True)
class Explanation:
    invoice: IssuedInvoice
    replaced: IssuedInvoice | None
    lines: tuple[LineExplanation, ...]


_RULE = """
    select rule_id, unit_price, effective_from, effective_to
    from catalogue.pricing_rules where rule_id = %s
"""

_FEE = """
    select fee_id, monthly_fee, effective_from, effective_to
    from catalogue.tier_fees where fee_id = %s
"""

# The tier versions overlapping [start, end] (inclusive dates).
_TIERS = """
    select account_tier, effective_from, effective_to
    from intermediate.int_account_tier_ranges
    where
        tenant_id = %(tenant_id)s
        and effective_from <= %(end)s
        and (effective_to is null or effective_to > %(start)s)
    order by effective_from
"""

# The invoice's events with their line and today's pricing of them: one scan of the map per
# query, whatever the number of lines (the map is keyed by event, not by invoice).
_INVOICE_EVENTS = """
    select
        map.line_number,
        map.event_id,
        charges.occurred_at,
        charges.operator_id,
        charges.direction,
        charges.segments,
        charges.account_tier,
        charges.rule_id,
        charges.unit_price,
        charges.amount,
        charges.stream_sequence
    from billing.issued_invoice_events as map
    left join intermediate.int_charges_priced as charges on charges.event_id = map.event_id
    where map.invoice_number = %(number)s
"""

# Per line: the events' count and sums, and how many today's build prices otherwise.
_SUMMARIES = f"""
    with invoice_events as ({_INVOICE_EVENTS})
    select
        invoice_events.line_number,
        count(*) as events,
        coalesce(sum(invoice_events.segments), 0) as segments,
        coalesce(sum(invoice_events.amount), 0) as exact_amount,
        min(invoice_events.occurred_at) as first_occurred_at,
        max(invoice_events.occurred_at) as last_occurred_at,
        count(*) filter (
            where invoice_events.rule_id is distinct from lines.rule_id
                or invoice_events.unit_price is distinct from lines.unit_price
        ) as repriced
    from invoice_events
    inner join billing.issued_invoice_lines as lines
        on lines.invoice_number = %(number)s and lines.line_number = invoice_events.line_number
    group by invoice_events.line_number
"""  # noqa: S608 (constant SQL, values as parameters)

# Per line: its first SAMPLE_SIZE events in occurrence order.
_SAMPLES = f"""
    with invoice_events as ({_INVOICE_EVENTS}),
    numbered as (
        select
            invoice_events.*,
            row_number() over (
                partition by line_number order by occurred_at, event_id
            ) as position
        from invoice_events
    )
    select * from numbered where position <= {SAMPLE_SIZE}
    order by line_number, position
"""  # noqa: S608 (constant SQL, values as parameters)

# Every event of the usage lines (all, or one), for --events.
_ALL = f"""
    with invoice_events as ({_INVOICE_EVENTS})
    select invoice_events.*
    from invoice_events
    inner join billing.issued_invoice_lines as lines
        on lines.invoice_number = %(number)s and lines.line_number = invoice_events.line_number
    where lines.rule_id is not null
        and (cast(%(line)s as integer) is null or invoice_events.line_number = %(line)s)
    order by invoice_events.line_number, invoice_events.occurred_at, invoice_events.event_id
"""  # noqa: S608 (constant SQL, values as parameters)


def _catalogue_row(conn: Connection, line: InvoiceLine) -> CatalogueRow | None:
    if line.rule_id is not None:
        kind, query, row_id = "pricing rule", _RULE, line.rule_id
    elif line.fee_id is not None:
        kind, query, row_id = "tier fee", _FEE, line.fee_id
    else:
        return None
    row = conn.execute(query, (row_id,)).fetchone()
    if row is None:
        return None
    return CatalogueRow(kind, row[0], row[1], row[2], row[3])


def _line_dates(invoice: IssuedInvoice, line: InvoiceLine) -> tuple[date, date]:
    if line.service_start is not None and line.service_end is not None:
        return line.service_start, line.service_end
    period = Period.parse(line.usage_period or invoice.period)
    return period.start, period.end - timedelta(days=1)


def _tiers(conn: Connection, tenant_id: UUID, start: date, end: date) -> tuple[TierRange, ...]:
    rows = conn.execute(_TIERS, {"tenant_id": tenant_id, "start": start, "end": end})
    return tuple(TierRange(*row) for row in rows)


def _event_summaries(conn: Connection, number: str) -> dict[int, EventSummary]:
    """Each line's events (lines without events have none): two scans of the map in all."""
    arguments = {"number": number}
    with conn.cursor(row_factory=dict_row) as cursor:
        samples: dict[int, list[dict[str, Any]]] = {}
        for event in cursor.execute(_SAMPLES, arguments):
            line_number = event.pop("line_number")
            event.pop("position")
            samples.setdefault(line_number, []).append(event)
        return {
            summary["line_number"]: EventSummary(
                events=summary["events"],
                segments=summary["segments"],
                exact_amount=summary["exact_amount"],
                first_occurred_at=summary["first_occurred_at"],
                last_occurred_at=summary["last_occurred_at"],
                repriced=summary["repriced"],
                sample=tuple(samples.get(summary["line_number"], ())),
            )
            for summary in cursor.execute(_SUMMARIES, arguments)
        }


_NO_EVENTS = EventSummary(0, 0, Decimal(0), None, None, 0, ())


def _find(conn: Connection, number: str) -> IssuedInvoice:
    invoice = issued.find_issued(conn, validate_invoice_number(number))
    if invoice is None:
        raise InvoiceNotFoundError(
            f"no issued invoice {number}: `billing invoices list` shows them"
        )
    return invoice


def _selected_lines(invoice: IssuedInvoice, line_number: int | None) -> tuple[InvoiceLine, ...]:
    if line_number is None:
        return invoice.lines
    chosen = tuple(line for line in invoice.lines if line.line_number == line_number)
    if not chosen:
        raise LineNotFoundError(
            f"{invoice.invoice_number} has no line {line_number}: it has lines "
            f"1 to {invoice.line_count} (`billing invoices explain {invoice.invoice_number}`)"
        )
    return chosen


def explain(conn: Connection, number: str, line_number: int | None = None) -> Explanation:
    """The explanation of one line (or every line) of an issued invoice."""
    invoice = _find(conn, number)
    replaced = (
        _find(conn, invoice.replaces_invoice_number)
        if invoice.replaces_invoice_number is not None
        else None
    )
    summaries = _event_summaries(conn, number)
    explained = []
    for line in _selected_lines(invoice, line_number):
        start, end = _line_dates(invoice, line)
        explained.append(
            LineExplanation(
                line=line,
                catalogue_row=_catalogue_row(conn, line),
                tiers=_tiers(conn, invoice.tenant_id, start, end),
                events=(
                    None
                    if line.line_type == "subscription"
                    else summaries.get(line.line_number, _NO_EVENTS)
                ),
                late=line.line_type == "late_usage",
            )
        )
    return Explanation(invoice=invoice, replaced=replaced, lines=tuple(explained))


def line_events(
    conn: Connection, number: str, line_number: int | None
) -> Iterator[tuple[Any, ...]]:
    """Every event behind a line (or every usage line) of an invoice, in line then occurrence
    order: rows of EVENT_COLUMNS preceded by the line number."""
    _selected_lines(_find(conn, number), line_number)  # refuses an unknown number or line
    with conn.cursor(name="line_events") as cursor:
        cursor.execute(_ALL, {"number": number, "line": line_number})
        yield from cursor
