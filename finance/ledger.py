"""The event ledger's reconciliation for one month (billing.event_ledger, issue 18).

Every stream message that reached the loader has one fate in the ledger. For a month this
checks, from the ledger and the issued tables:

- the stream: sequences first..last = landed + rejected, with no gap and none counted twice;
- landed distinct = priced + unpriced + excluded (+ unbuilt: landed after the last build);
- priced = invoiced + late + pending + written off, and no event on two non-void invoices;
- amounts tie: every non-void invoice of the month totals its lines, and every usage line's
  quantity is the sum of the segments of the events it billed.

It reads the dbt marts (the ledger view) and the issued tables; the rules of what a fate is
live in the model, never here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import errors
from psycopg.rows import dict_row

from billing.errors import SchemaNotMigratedError
from billing.money import format_amount
from billing.periods import Period


class Fate(StrEnum):
    """What became of a stream message (the ledger's `fate` column)."""

    INVOICED = "invoiced"
    LATE = "late"
    PENDING = "pending"
    UNPRICED = "unpriced"
    EXCLUDED = "excluded"
    WRITTEN_OFF = "written_off"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    UNBUILT = "unbuilt"


PRICED_FATES = (Fate.INVOICED, Fate.LATE, Fate.PENDING, Fate.WRITTEN_OFF)

_STREAM = """
    select
        (select count(*) from staging.stg_raw__message_landings) as landed,
        (select count(*) from staging.stg_raw__rejected_messages) as rejected,
        (select count(*) from staging.stg_raw__message_landings as landed
         where exists (
             select 1 from staging.stg_raw__rejected_messages as rejected
             where rejected.stream_sequence = landed.stream_sequence
         )) as counted_twice,
        least(
            (select min(stream_sequence) from staging.stg_raw__message_landings),
            (select min(stream_sequence) from staging.stg_raw__rejected_messages)
        ) as first_sequence,
        greatest(
            (select max(stream_sequence) from staging.stg_raw__message_landings),
            (select max(stream_sequence) from staging.stg_raw__rejected_messages)
        ) as last_sequence
"""

_FATES = """
    select fate, count(*) as messages, count(distinct event_id) as events
    from billing.event_ledger
    where period = %s
    group by fate
"""

# An event of the month with more than one ledger row (not counting its duplicates): it is
# on two non-void invoices, or two fates at once.
_DOUBLED = """
    select count(*) from (
        select event_id
        from billing.event_ledger
        where period = %s and fate not in ('duplicate', 'rejected')
        group by event_id
        having count(*) > 1
    ) as doubled
"""

_INVOICES = """
    with

    invoices as (
        select issued.invoice_number, issued.currency, issued.total
        from billing.issued_invoices as issued
        where
            issued.period = %s
            and not exists (
                select 1 from billing.invoice_voids as voids
                where voids.invoice_number = issued.invoice_number
            )
    ),

    line_sums as (
        select lines.invoice_number, sum(lines.amount) as amount
        from billing.issued_invoice_lines as lines
        inner join invoices on lines.invoice_number = invoices.invoice_number
        group by lines.invoice_number
    ),

    event_segments as (
        select billed.invoice_number, billed.line_number, sum(landed.segments) as segments
        from billing.issued_invoice_events as billed
        inner join invoices on billed.invoice_number = invoices.invoice_number
        inner join staging.stg_raw__message_charged as landed
            on landed.event_id = billed.event_id and not landed.is_duplicate
        group by billed.invoice_number, billed.line_number
    ),

    usage_lines as (
        select lines.invoice_number, lines.line_number, lines.quantity
        from billing.issued_invoice_lines as lines
        inner join invoices on lines.invoice_number = invoices.invoice_number
        where lines.line_type <> 'subscription'
    )

    select
        (select count(*) from invoices) as invoices,
        (select count(*) from invoices
         left join line_sums on invoices.invoice_number = line_sums.invoice_number
         where invoices.total <> coalesce(line_sums.amount, 0)) as totals_not_tied,
        (select count(*) from usage_lines) as usage_lines,
        (select count(*) from usage_lines
         full join event_segments
             on usage_lines.invoice_number = event_segments.invoice_number
             and usage_lines.line_number = event_segments.line_number
         where usage_lines.quantity is distinct from event_segments.segments) as lines_not_tied
"""

_TOTALS = """
    select issued.currency, sum(issued.total) as total
    from billing.issued_invoices as issued
    where
        issued.period = %s
        and not exists (
            select 1 from billing.invoice_voids as voids
            where voids.invoice_number = issued.invoice_number
        )
    group by issued.currency
    order by issued.currency
"""

_IDS = """
    select event_id
    from billing.event_ledger
    where period = %s and fate = %s and event_id is not null
    order by event_id
"""


@dataclass(frozen=True)
class StreamCount:
    """Stream-wide: every sequence from the first to the last is landed or rejected, once."""

    landed: int
    rejected: int
    counted_twice: int
    first_sequence: int
    last_sequence: int

    @property
    def gaps(self) -> int:
        if self.last_sequence == 0:
            return 0
        span = self.last_sequence - self.first_sequence + 1
        return span - (self.landed + self.rejected - self.counted_twice)

    @property
    def reconciles(self) -> bool:
        return self.gaps == 0 and self.counted_twice == 0


@dataclass(frozen=True)
class Reconciliation:
    """One month of the ledger, and whether it reconciles."""

    period: Period
    stream: StreamCount
    messages: Mapping[Fate, int]  # ledger rows of the month per fate
    events: Mapping[Fate, int]  # distinct events per fate
    doubled: int
    invoices: int
    totals_not_tied: int
    usage_lines: int
    lines_not_tied: int
    totals: Mapping[str, Decimal] = field(default_factory=dict)

    def count(self, fate: Fate) -> int:
        return self.messages.get(fate, 0)

    @property
    def landed(self) -> int:
        return sum(n for fate, n in self.messages.items() if fate is not Fate.REJECTED)

    @property
    def distinct(self) -> int:
        return self.landed - self.count(Fate.DUPLICATE)

    @property
    def priced(self) -> int:
        return sum(self.count(fate) for fate in PRICED_FATES)

    @property
    def problems(self) -> list[str]:
        """Why it does not reconcile (empty when it does)."""
        found = []
        if self.stream.gaps:
            found.append(f"{self.stream.gaps} stream sequence(s) neither landed nor rejected")
        if self.stream.counted_twice:
            found.append(f"{self.stream.counted_twice} sequence(s) both landed and rejected")
        if self.doubled:
            found.append(f"{self.doubled} event(s) with more than one fate (billed twice?)")
        accounted = self.priced + sum(
            self.count(fate) for fate in (Fate.UNPRICED, Fate.EXCLUDED, Fate.UNBUILT)
        )
        if accounted != self.distinct:
            found.append(f"distinct {self.distinct} but {accounted} events with a fate")
        if self.totals_not_tied:
            found.append(f"{self.totals_not_tied} invoice(s) whose total is not their lines'")
        if self.lines_not_tied:
            found.append(f"{self.lines_not_tied} usage line(s) not the sum of their events")
        return found

    @property
    def reconciles(self) -> bool:
        return not self.problems

    def line(self) -> str:
        """The reconciliation in one line (the fault suite prints it; so does the CLI)."""
        stream = self.stream
        totals = ", ".join(
            format_amount(total, cur) + f" {cur}" for cur, total in self.totals.items()
        )
        parts = [
            f"{self.period}: stream {stream.first_sequence}..{stream.last_sequence} = landed "
            f"{stream.landed} + rejected {stream.rejected} (gaps {stream.gaps})",
            f"month landed {self.landed} = distinct {self.distinct} + duplicates "
            f"{self.count(Fate.DUPLICATE)}, rejected {self.count(Fate.REJECTED)}",
            f"distinct {self.distinct} = priced {self.priced} + unpriced "
            f"{self.count(Fate.UNPRICED)} + excluded {self.count(Fate.EXCLUDED)}"
            + (f" + unbuilt {self.count(Fate.UNBUILT)}" if self.count(Fate.UNBUILT) else ""),
            f"priced {self.priced} = invoiced {self.count(Fate.INVOICED)} + late "
            f"{self.count(Fate.LATE)} + pending {self.count(Fate.PENDING)} + written off "
            f"{self.count(Fate.WRITTEN_OFF)}",
            f"doubled {self.doubled}",
            f"amounts: {self.invoices} invoice(s) = their lines"
            + (f" ({totals})" if totals else "")
            + f", {self.usage_lines} usage line(s) = their events' segments",
        ]
        verdict = (
            "reconciles" if self.reconciles else "DOES NOT RECONCILE: " + "; ".join(self.problems)
        )
        return "; ".join(parts) + f": {verdict}"


def _one(cur: psycopg.Cursor[dict[str, Any]], query: str, *parameters: object) -> dict[str, Any]:
    row = cur.execute(query, parameters).fetchone()
    if row is None:  # an aggregate always returns its row
        raise RuntimeError("an aggregate returned no row")
    return row


def reconcile(conn: psycopg.Connection[Any], period: Period) -> Reconciliation:
    """The month's reconciliation, read in one snapshot (repeatable read)."""
    label = str(period)
    try:
        conn.execute("set transaction isolation level repeatable read, read only")
        with conn.cursor(row_factory=dict_row) as cur:
            stream = _one(cur, _STREAM)
            fates = cur.execute(_FATES, (label,)).fetchall()
            doubled = cur.execute(_DOUBLED, (label,)).fetchone()
            invoices = _one(cur, _INVOICES, label)
            totals = cur.execute(_TOTALS, (label,)).fetchall()
    except errors.UndefinedTable as error:
        raise SchemaNotMigratedError(
            f"the ledger is not built in this database ({error.diag.message_primary}): run "
            "`billing close --month` once, or the dbt build, then try again"
        ) from None
    return Reconciliation(
        period=period,
        stream=StreamCount(
            landed=int(stream["landed"]),
            rejected=int(stream["rejected"]),
            counted_twice=int(stream["counted_twice"]),
            first_sequence=int(stream["first_sequence"] or 0),
            last_sequence=int(stream["last_sequence"] or 0),
        ),
        messages={Fate(row["fate"]): int(row["messages"]) for row in fates},
        events={Fate(row["fate"]): int(row["events"]) for row in fates},
        doubled=int(next(iter(doubled.values()))) if doubled else 0,
        invoices=int(invoices["invoices"]),
        totals_not_tied=int(invoices["totals_not_tied"]),
        usage_lines=int(invoices["usage_lines"]),
        lines_not_tied=int(invoices["lines_not_tied"]),
        totals={row["currency"].strip(): Decimal(row["total"]) for row in totals},
    )


def event_ids(conn: psycopg.Connection[Any], period: Period, fate: Fate) -> list[str]:
    """The ids of the month's events with that fate (for `billing events exclude --file`)."""
    return [str(row[0]) for row in conn.execute(_IDS, (str(period), fate.value))]
