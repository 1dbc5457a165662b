"""Great Expectations suites, defined in code: what the close checks beside the dbt tests.

A suite is a few parts; each part is one relation (a table, or a query over the marts) and
the expectations it must meet. Expectations are built when the suite is, so "now" and the
period are those of the close that runs them.

- raw_events: raw.message_charged as the loader landed it (columns, keys, ranges), and the
  time of the rows a close is about (its month, and what landed since the last close).
- invoice_drafts: the drafts of the period about to be issued reconcile with their lines
  and carry no negative amount.
- issued_invoices: after the issue, numbers are gapless per period and every issued
  invoice's subtotal is the sum of its lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from billing.periods import Period
from billing.raw import ALL_COLUMNS

# The loader's default time bounds (BILLING_MAX_FUTURE_SKEW, BILLING_MAX_EVENT_AGE): producers'
# clocks may run slightly ahead of ours; beyond this, an event is "in the future".
CLOCK_SKEW = timedelta(minutes=5)
MAX_EVENT_AGE = timedelta(days=400)

RAW_REQUIRED = (
    "stream_sequence",
    "event_id",
    "event_type",
    "occurred_at",
    "tenant_id",
    "message_id",
    "operator_id",
    "direction",
    "segments",
    "payload",
)


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation: the GX class name (great_expectations.expectations) and its kwargs."""

    kind: str
    kwargs: dict[str, Any]

    def label(self) -> str:
        """A short readable label: kind and the columns it looks at."""
        columns = [
            str(self.kwargs[key])
            for key in ("column", "column_A", "column_B")
            if key in self.kwargs
        ]
        return f"{self.kind}({', '.join(columns)})" if columns else self.kind


@dataclass(frozen=True)
class SuitePart:
    """A relation of the suite: `table` (schema.table) or `query` (a select), exactly one."""

    name: str
    expectations: tuple[ExpectationSpec, ...]
    table: tuple[str, str] | None = None
    query: str | None = None


@dataclass(frozen=True)
class Suite:
    """A named set of parts; it passes when every expectation of every part passes."""

    name: str
    description: str
    parts: tuple[SuitePart, ...]
    # Session settings of the suite's connection (name, value): what its views read.
    settings: tuple[tuple[str, str], ...] = ()


def _expect(kind: str, **kwargs: Any) -> ExpectationSpec:
    return ExpectationSpec(kind, kwargs)


def _checked_period(period: str) -> str:
    # The period is put into SQL text (GX query assets take no parameters): accept only YYYY-MM.
    return Period.parse(period).label


def raw_events_suite(
    period: str | None = None,
    *,
    max_future_skew: timedelta = CLOCK_SKEW,
    max_event_age: timedelta = MAX_EVENT_AGE,
) -> Suite:
    """raw.message_charged: the expected columns; and, on the rows in scope (those of the
    month and those landed since the last close: never the whole history, issue 18), non-null keys,
    segments 1-1000, known directions, and no event further ahead of its landing time than
    max_future_skew or older than max_event_age at landing (the loader's own bounds,
    BILLING_MAX_FUTURE_SKEW and BILLING_MAX_EVENT_AGE).

    Raw rows are append-only, so a row out of scope was checked by the close that had it in
    scope: the suite's cost follows the month, not the history (issue 19). The rows are read
    through the view raw.message_charged_in_close_scope, for the month in the session setting
    billing.close_period: a table to GX, whose columns it reads from the catalogue (a query
    asset it would execute in full to learn them)."""
    rows = (
        *(_expect("ExpectColumnValuesToNotBeNull", column=column) for column in RAW_REQUIRED),
        _expect("ExpectColumnValuesToBeBetween", column="segments", min_value=1, max_value=1000),
        _expect(
            "ExpectColumnValuesToBeInSet", column="direction", value_set=["outbound", "inbound"]
        ),
        _expect(
            "ExpectColumnValuesToBeBetween",
            column="seconds_ahead_of_landing",
            max_value=max_future_skew.total_seconds(),
        ),
        _expect(
            "ExpectColumnValuesToBeBetween",
            column="seconds_old_at_landing",
            max_value=max_event_age.total_seconds(),
        ),
    )
    columns = (
        _expect("ExpectTableColumnsToMatchSet", column_set=list(ALL_COLUMNS), exact_match=True),
    )
    scope = f"the rows of {period} and" if period else "the rows"
    return Suite(
        name="raw_events",
        description=(
            f"raw.message_charged as landed: expected columns; on {scope} landed since the "
            "last close, non-null keys, segments between 1 and 1000, known directions, no "
            f"occurred_at more than {max_future_skew} ahead of its landing time nor more than "
            f"{max_event_age.days} days before it"
        ),
        parts=(
            # No rows: the columns come from the table's own, at no scan.
            SuitePart(
                "raw_message_charged",
                columns,
                query="select * from raw.message_charged limit 0",
            ),
            SuitePart("raw_rows_in_scope", rows, table=("raw", "message_charged_in_close_scope")),
        ),
        settings=(("billing.close_period", _checked_period(period)),) if period else (),
    )


def invoice_drafts_suite(period: str) -> Suite:
    """The period's drafts: subtotal = sum of lines, total = subtotal, no negative amounts."""
    period = _checked_period(period)
    # The period is validated (YYYY-MM) above: GX query assets take no bind parameters.
    reconciliation = f"""
        select
            drafts.invoice_number,
            drafts.subtotal,
            drafts.total,
            drafts.line_count,
            coalesce(lines.amount, 0) as lines_amount,
            coalesce(lines.line_count, 0) as lines_count
        from billing.invoice_drafts as drafts
        left join (
            select
                tenant_id,
                coalesce(replaces_invoice_number, '') as replaces_key,
                sum(amount) as amount,
                count(*) as line_count
            from billing.invoice_draft_lines
            group by tenant_id, coalesce(replaces_invoice_number, '')
        ) as lines
            on
                drafts.tenant_id = lines.tenant_id
                and coalesce(drafts.replaces_invoice_number, '') = lines.replaces_key
        where drafts.period = '{period}'
    """  # noqa: S608
    lines = f"""
        select tenant_id, line_number, line_type, quantity, unit_price, amount
        from billing.invoice_draft_lines
        where period = '{period}'
    """  # noqa: S608
    return Suite(
        name="invoice_drafts",
        description=(
            f"drafts of {period}: subtotal = sum of draft lines, total = subtotal, line counts "
            "agree, no negative amount, quantity or unit price"
        ),
        parts=(
            SuitePart(
                "drafts_reconcile",
                (
                    _expect(
                        "ExpectColumnPairValuesToBeEqual",
                        column_A="subtotal",
                        column_B="lines_amount",
                    ),
                    _expect(
                        "ExpectColumnPairValuesToBeEqual", column_A="total", column_B="subtotal"
                    ),
                    _expect(
                        "ExpectColumnPairValuesToBeEqual",
                        column_A="line_count",
                        column_B="lines_count",
                    ),
                    _expect("ExpectColumnValuesToBeBetween", column="subtotal", min_value=0),
                ),
                query=reconciliation,
            ),
            SuitePart(
                "draft_lines_not_negative",
                (
                    _expect("ExpectColumnValuesToBeBetween", column="amount", min_value=0),
                    _expect("ExpectColumnValuesToBeBetween", column="quantity", min_value=0),
                    _expect("ExpectColumnValuesToBeBetween", column="unit_price", min_value=0),
                ),
                query=lines,
            ),
        ),
    )


def issued_invoices_suite() -> Suite:
    """Issued invoices: numbers gapless per period (1..n), subtotal = sum of issued lines."""
    numbering = """
        select
            period,
            invoice_number,
            seq,
            seq - row_number() over (partition by period order by seq) as gap
        from billing.issued_invoices
    """
    totals = """
        select
            invoices.invoice_number,
            invoices.subtotal,
            coalesce(sum(lines.amount), 0) as lines_amount
        from billing.issued_invoices as invoices
        left join billing.issued_invoice_lines as lines
            on invoices.invoice_number = lines.invoice_number
        group by invoices.invoice_number, invoices.subtotal
    """
    return Suite(
        name="issued_invoices",
        description=(
            "issued invoices: numbers INV-YYYYMM-NNNNNN gapless per period from 000001, and "
            "every subtotal equal to the sum of its issued lines"
        ),
        parts=(
            SuitePart(
                "numbers_gapless",
                (_expect("ExpectColumnValuesToBeBetween", column="gap", min_value=0, max_value=0),),
                query=numbering,
            ),
            SuitePart(
                "issued_totals",
                (
                    _expect(
                        "ExpectColumnPairValuesToBeEqual",
                        column_A="subtotal",
                        column_B="lines_amount",
                    ),
                ),
                query=totals,
            ),
        ),
    )
