"""The open-month preview (issue 20, docs/preview.md): a month's draft invoices as the close
would issue them now, built by the close's own dbt models, with nothing issued.

`build_preview` runs the dbt models of the month (the drafts, billing.invoice_previews and
its lines, the unpriced charges and the catalogue coverage) under the close lock, so a preview
never interleaves with a close's build and issue step; the close rebuilds its drafts itself
before it issues, so a preview never changes a later close. No invoice number is consumed:
numbers are assigned by the issue step only. `read_preview` reads the result as Finance.
A closed month is not built: it reports the issued invoices instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from billing import db, issued
from billing.errors import RefusedError
from billing.issued import IssuedInvoice
from billing.locks import Lock, LockBusyError, advisory_lock
from billing.periods import Period
from billing.roles import Role
from billing.settings import Settings
from warehouse.transform import run_dbt

# The models a preview needs, with everything upstream (seeds included, so a catalogue edit
# shows at once): the same nodes the close builds for these relations. Data tests are the
# close's checks (step b); a preview shows the month's blockers instead of failing on them.
PREVIEW_SELECTION = (
    "+invoice_previews",
    "+invoice_preview_lines",
    "+unpriced_charges",
    "+catalogue_coverage",
)
BUILD_ARGUMENTS = (
    "build",
    "--select",
    *PREVIEW_SELECTION,
    "--exclude-resource-type",
    "test",
    "--exclude-resource-type",
    "unit_test",
)


class CloseRunningError(RefusedError):
    """A close holds the close lock: the preview would interleave with its build."""


@dataclass(frozen=True)
class PreviewLine:
    line_number: int
    line_type: str
    description: str
    usage_period: str
    operator_id: str | None
    direction: str | None
    account_tier: str | None
    rule_id: str | None
    fee_id: str | None
    quantity: int
    unit_price: Decimal
    amount: Decimal
    service_start: date | None
    service_end: date | None
    period_days: int | None
    event_count: int


@dataclass(frozen=True)
class DraftInvoice:
    """One tenant's draft: status draft, no invoice number."""

    period: str
    tenant_id: UUID
    tenant_name: str | None
    currency: str
    subtotal: Decimal
    total: Decimal
    line_count: int
    event_count: int
    built_at: datetime
    lines: tuple[PreviewLine, ...] = ()
    status: str = "draft"


@dataclass(frozen=True)
class UnpricedCount:
    period: str
    reason: str
    events: int
    tenants: int


@dataclass(frozen=True)
class CoverageGap:
    source: str
    gap: str
    period: str
    account_tier: str | None
    operator_id: str | None
    direction: str | None
    currency: str | None
    first_day: date | None
    last_day: date | None
    event_count: int | None
    day_count: int | None


@dataclass(frozen=True)
class Preview:
    """A month's preview; `closed` months carry their issued invoices instead of drafts."""

    period: Period
    closed: bool
    drafts: tuple[DraftInvoice, ...] = ()
    issued: tuple[IssuedInvoice, ...] = ()
    unpriced: tuple[UnpricedCount, ...] = field(default=())
    gaps: tuple[CoverageGap, ...] = field(default=())


_IS_CLOSED = (
    "select exists(select 1 from billing.period_closes where period = %s and kind = 'close')"
)

_DRAFTS = """
select previews.period, previews.tenant_id, accounts.name as tenant_name,
       previews.currency,
       previews.subtotal, previews.total, previews.line_count, previews.event_count,
       previews.built_at
from billing.invoice_previews as previews
left join ref.accounts as accounts on accounts.tenant_id = previews.tenant_id
where previews.period = %(period)s
  and (%(tenant)s::uuid is null or previews.tenant_id = %(tenant)s::uuid)
order by previews.tenant_id
"""

_LINES = """
select tenant_id, line_number, line_type, description, usage_period, operator_id, direction,
       account_tier, rule_id, fee_id, quantity, unit_price, amount, service_start, service_end,
       period_days, event_count
from billing.invoice_preview_lines
where period = %(period)s
  and (%(tenant)s::uuid is null or tenant_id = %(tenant)s::uuid)
order by tenant_id, line_number
"""

# Unpriced events of any month up to the period: each of them blocks its close (SPEC 4).
_UNPRICED = """
select period, unpriced_reason as reason, count(*) as events,
       count(distinct tenant_id) as tenants
from billing.unpriced_charges
where period <= %(period)s
  and (%(tenant)s::uuid is null or tenant_id = %(tenant)s::uuid)
group by period, unpriced_reason
order by period, unpriced_reason
"""

_GAPS = """
select source, gap, period, account_tier, operator_id, direction, currency, first_day,
       last_day, event_count, day_count
from billing.catalogue_coverage
where period <= %(period)s
order by period, source, gap, account_tier, operator_id, direction, currency
"""


def is_closed(conn: psycopg.Connection[tuple[object, ...]], period: Period) -> bool:
    row = conn.execute(_IS_CLOSED, (period.label,)).fetchone()
    return bool(row and row[0])


def build_preview(settings: Settings, owner_url: str, period: Period) -> bool:
    """Build the month's preview with the close's dbt models, unless the month is closed.

    Returns False for a closed month (nothing built). Holds the close lock for the build:
    refuses, with what to do, while a close runs.
    """
    url, role = db.role_url(settings, owner_url, Role.TRANSFORMER)
    with db.connect(url, role=role, autocommit=True) as conn:
        if is_closed(conn, period):
            return False
        try:
            with advisory_lock(
                conn,
                Lock.CLOSE,
                busy="a close is running (it holds the close lock): preview again when it "
                "has finished",
            ):
                run_dbt(list(BUILD_ARGUMENTS), url, period=period.label)
        except LockBusyError as busy:
            raise CloseRunningError(str(busy)) from None
    return True


def read_preview(
    settings: Settings, owner_url: str, period: Period, tenant_id: UUID | None = None
) -> Preview:
    """The built preview of `period` (or, for a closed month, its issued invoices), as Finance."""
    url, role = db.role_url(settings, owner_url, Role.FINANCE)
    parameters = {"period": period.label, "tenant": str(tenant_id) if tenant_id else None}
    with db.connect(url, role=role) as conn:
        if is_closed(conn, period):
            invoices = [
                invoice
                for invoice in issued.list_issued(conn, period)
                if tenant_id is None or invoice.tenant_id == tenant_id
            ]
            return Preview(period, closed=True, issued=tuple(invoices))
        cursor = conn.cursor(row_factory=dict_row)
        lines: dict[UUID, list[PreviewLine]] = {}
        for line in cursor.execute(_LINES, parameters).fetchall():
            lines.setdefault(line.pop("tenant_id"), []).append(PreviewLine(**line))
        drafts = tuple(
            DraftInvoice(**draft, lines=tuple(lines.get(draft["tenant_id"], ())))
            for draft in cursor.execute(_DRAFTS, parameters).fetchall()
        )
        unpriced = tuple(
            UnpricedCount(**row) for row in cursor.execute(_UNPRICED, parameters).fetchall()
        )
        gaps = tuple(CoverageGap(**row) for row in cursor.execute(_GAPS, parameters).fetchall())
    return Preview(period, closed=False, drafts=drafts, unpriced=unpriced, gaps=gaps)


def preview(
    settings: Settings, owner_url: str, period: Period, tenant_id: UUID | None = None
) -> Preview:
    """Build, then read, the preview of `period`."""
    build_preview(settings, owner_url, period)
    return read_preview(settings, owner_url, period, tenant_id)
