"""An independent billing oracle, written from SPEC sections 2-4 and not from the SQL.

Given accounts, tiers, catalogues and landed events, it computes what closing one period
must produce: per-event pricing, unpriced events, the blockers, and the invoices with their
lines. The property tests compare the dbt project's marts with it to the cent.
"""

from __future__ import annotations

import calendar
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units of the currencies the oracle is fed (SPEC section 4, revised: an
# amount is rounded half-up to its currency's minor units). Written out here, not imported,
# so the oracle stays independent of the code it checks.
MINOR_UNITS = {"EUR": 2, "USD": 2, "GBP": 2, "JPY": 0, "BHD": 3, "KWD": 3}


def smallest_unit(currency: str) -> Decimal:
    """0.01 for EUR, 1 for JPY, 0.001 for BHD."""
    return Decimal(1).scaleb(-MINOR_UNITS[currency])


def round_half_up(value: Decimal, currency: str) -> Decimal:
    return value.quantize(smallest_unit(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Account:
    tenant_id: uuid.UUID
    currency: str
    activated_on: date
    deactivated_on: date | None


@dataclass(frozen=True)
class TierRow:
    tenant_id: uuid.UUID
    tier: str
    effective_from: date


@dataclass(frozen=True)
class Versioned:
    """A catalogue row: id, key, value, [effective_from, effective_to)."""

    row_id: str
    key: tuple[str, ...]
    value: Decimal
    effective_from: date
    effective_to: date | None

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


@dataclass(frozen=True)
class LandedEvent:
    stream_sequence: int
    event_id: uuid.UUID
    tenant_id: uuid.UUID
    occurred_at: datetime
    operator_id: str
    direction: str
    segments: int

    @property
    def day(self) -> date:
        return self.occurred_at.astimezone(UTC).date()

    @property
    def period(self) -> str:
        return self.day.strftime("%Y-%m")


@dataclass(frozen=True)
class PricedEvent:
    event: LandedEvent
    tier: str
    currency: str
    rule_id: str
    unit_price: Decimal
    cost_id: str
    unit_cost: Decimal

    @property
    def amount(self) -> Decimal:
        return self.event.segments * self.unit_price

    @property
    def cost_amount(self) -> Decimal:
        return self.event.segments * self.unit_cost


@dataclass(frozen=True)
class Line:
    line_type: str
    usage_period: str
    rule_or_fee: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass
class Invoice:
    tenant_id: uuid.UUID
    currency: str
    lines: list[Line] = field(default_factory=list)
    event_ids: set[uuid.UUID] = field(default_factory=set)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


@dataclass
class World:
    accounts: list[Account]
    tiers: list[TierRow]
    pricing_rules: list[Versioned]  # key (tier, operator, direction, currency)
    operator_costs: list[Versioned]  # key (operator, direction, currency)
    tier_fees: list[Versioned]  # key (tier, currency)
    events: list[LandedEvent]


@dataclass
class CloseResult:
    priced: dict[uuid.UUID, PricedEvent]
    unpriced: dict[uuid.UUID, str]
    blocked: bool
    invoices: list[Invoice]  # in tenant_id order, i.e. invoice number order


def _single(rows: list[Versioned], key: tuple[str, ...], day: date) -> Versioned | None:
    matches = [row for row in rows if row.key == key and row.in_force(day)]
    assert len(matches) <= 1, "catalogue versions overlap"
    return matches[0] if matches else None


def tier_on(world: World, tenant_id: uuid.UUID, day: date) -> str | None:
    candidates = [t for t in world.tiers if t.tenant_id == tenant_id and t.effective_from <= day]
    return max(candidates, key=lambda t: t.effective_from).tier if candidates else None


def price_events(world: World) -> tuple[dict[uuid.UUID, PricedEvent], dict[uuid.UUID, str]]:
    """SPEC section 3: the earliest landing of each event_id, priced or with a reason."""
    earliest: dict[uuid.UUID, LandedEvent] = {}
    for event in sorted(world.events, key=lambda e: e.stream_sequence):
        earliest.setdefault(event.event_id, event)
    accounts = {account.tenant_id: account for account in world.accounts}
    priced: dict[uuid.UUID, PricedEvent] = {}
    unpriced: dict[uuid.UUID, str] = {}
    for event in earliest.values():
        account = accounts.get(event.tenant_id)
        if account is None:
            unpriced[event.event_id] = "unknown_account"
            continue
        tier = tier_on(world, event.tenant_id, event.day)
        if tier is None:
            unpriced[event.event_id] = "no_tier"
            continue
        rule = _single(
            world.pricing_rules,
            (tier, event.operator_id, event.direction, account.currency),
            event.day,
        )
        if rule is None:
            unpriced[event.event_id] = "no_rule"
            continue
        cost = _single(
            world.operator_costs, (event.operator_id, event.direction, account.currency), event.day
        )
        if cost is None:
            unpriced[event.event_id] = "no_cost"
            continue
        priced[event.event_id] = PricedEvent(
            event, tier, account.currency, rule.row_id, rule.value, cost.row_id, cost.value
        )
    return priced, unpriced


def month_days(period: str) -> list[date]:
    year, month = (int(part) for part in period.split("-"))
    count = calendar.monthrange(year, month)[1]
    return [date(year, month, 1) + timedelta(days=offset) for offset in range(count)]


def subscription_lines(world: World, account: Account, period: str) -> tuple[list[Line], bool]:
    """SPEC section 4: runs of consecutive active days with the same tier and fee row.

    Returns the lines and whether an active day lacked a tier or a fee (a coverage gap).
    """
    days = month_days(period)
    runs: list[tuple[str, Versioned, int, date]] = []  # tier, fee row, n days, last day
    gap = False
    for day in days:
        active = account.activated_on <= day and (
            account.deactivated_on is None or day < account.deactivated_on
        )
        if not active:
            continue
        tier = tier_on(world, account.tenant_id, day)
        fee = _single(world.tier_fees, (tier, account.currency), day) if tier else None
        if tier is None or fee is None:
            gap = True
            continue
        last = runs[-1] if runs else None
        if (
            last is not None
            and last[0] == tier
            and last[1].row_id == fee.row_id
            and last[3] == day - timedelta(days=1)
        ):
            runs[-1] = (tier, fee, last[2] + 1, day)
        else:
            runs.append((tier, fee, 1, day))
    lines = [
        Line(
            "subscription",
            period,
            fee.row_id,
            count,
            fee.value,
            round_half_up(fee.value * count / len(days), account.currency),
        )
        for _tier, fee, count, _last in runs
    ]
    return lines, gap


def close_period(world: World, period: str) -> CloseResult:
    """The first close of `period` (nothing issued before): invoices or blocked."""
    priced, unpriced = price_events(world)
    blocked = any(_period_of(world, event_id) <= period for event_id in unpriced)
    invoices: dict[uuid.UUID, Invoice] = {}
    for account in sorted(world.accounts, key=lambda a: a.tenant_id):
        lines, gap = subscription_lines(world, account, period)
        blocked = blocked or gap
        if lines:
            invoices[account.tenant_id] = Invoice(account.tenant_id, account.currency, lines)
    usage: dict[tuple[uuid.UUID, str, str, str, str], list[PricedEvent]] = defaultdict(list)
    for charge in priced.values():
        if charge.event.period > period:
            continue
        key = (
            charge.event.tenant_id,
            charge.event.period,
            charge.event.operator_id,
            charge.event.direction,
            charge.rule_id,
        )
        usage[key].append(charge)
    for (tenant_id, usage_period, _operator, _direction, rule_id), charges in sorted(usage.items()):
        quantity = sum(charge.event.segments for charge in charges)
        unit_price = charges[0].unit_price
        invoice = invoices.setdefault(tenant_id, Invoice(tenant_id, charges[0].currency))
        invoice.lines.append(
            Line(
                "usage" if usage_period == period else "late_usage",
                usage_period,
                rule_id,
                quantity,
                unit_price,
                round_half_up(quantity * unit_price, charges[0].currency),
            )
        )
        invoice.event_ids.update(charge.event.event_id for charge in charges)
    ordered = [invoices[tenant_id] for tenant_id in sorted(invoices)]
    return CloseResult(priced, unpriced, blocked, ordered)


def _period_of(world: World, event_id: uuid.UUID) -> str:
    return min(
        (event for event in world.events if event.event_id == event_id),
        key=lambda event: event.stream_sequence,
    ).period
