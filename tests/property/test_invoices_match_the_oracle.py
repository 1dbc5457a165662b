"""Property tests: the dbt project's marts equal the independent oracle to the cent.

Each hypothesis example is one generated world (several independent tenants, generated
catalogues with version changes, events over three months with duplicates and time zones),
loaded into a fresh database and closed once with the real dbt project: dbt runs once per
batch of tenants, so the suite stays within its time budget.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.oracle import (
    MINOR_UNITS,
    Account,
    CloseResult,
    LandedEvent,
    TierRow,
    Versioned,
    World,
    close_period,
    month_days,
    round_half_up,
    smallest_unit,
)
from tests.support.billing_data import (
    Event,
    OperatorCost,
    PriceRule,
    TierFee,
    add_account,
    add_tier,
    land_events,
    set_catalogues,
)
from tests.support.dbt import DbtProject

TIERS = ("bronze", "silver")
OPERATORS = ("op_a", "op_b")
DIRECTIONS = ("outbound", "inbound")
# Two-place currencies, one without minor units (JPY) and one with three (BHD).
CURRENCIES = ("EUR", "USD", "JPY", "BHD")
OPEN_START = date(2025, 1, 1)

prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.2"), places=6)
# Prices of a currency without minor units are larger (a yen is worth about a cent).
yen_prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("20"), places=6)


def fees(currency: str) -> st.SearchStrategy[Decimal]:
    """Monthly fees with at most the currency's minor units as places (the seed test's rule)."""
    places = MINOR_UNITS[currency]
    largest = {0: Decimal("99999"), 2: Decimal("999.99"), 3: Decimal("999.999")}[places]
    return st.decimals(min_value=Decimal("0"), max_value=largest, places=places)


def versions(
    draw: st.DrawFn,
    prefix: str,
    key: tuple[str, ...],
    values: st.SearchStrategy[Decimal],
    days: list[date],
) -> list[Versioned]:
    """One open version, or two split on a day around the period (a price change)."""
    if draw(st.booleans()):
        return [Versioned(f"{prefix}-1", key, draw(values), OPEN_START, None)]
    boundary = draw(st.sampled_from(days[:1] + days + [days[-1] + timedelta(days=1)]))
    return [
        Versioned(f"{prefix}-1", key, draw(values), OPEN_START, boundary),
        Versioned(f"{prefix}-2", key, draw(values), boundary, None),
    ]


# Tenants per world (another test asks for more).
TENANT_COUNTS = st.integers(1, 6)


@st.composite
def worlds(
    draw: st.DrawFn, tenant_counts: st.SearchStrategy[int] = TENANT_COUNTS
) -> tuple[str, World]:
    period = draw(st.sampled_from(["2026-10", "2026-11", "2028-02"]))
    days = month_days(period)
    first, last = days[0], days[-1]
    # Mostly complete catalogues; sometimes a key is missing (-> unpriced -> blocked close).
    drop = draw(st.sampled_from([None] * 9 + [5, 30, 41]))
    rules: list[Versioned] = []
    costs: list[Versioned] = []
    tier_fees: list[Versioned] = []
    index = 0
    for tier in TIERS:
        for operator in OPERATORS:
            for direction in DIRECTIONS:
                for currency in CURRENCIES:
                    index += 1
                    if index != drop:
                        key = (tier, operator, direction, currency)
                        values = yen_prices if currency == "JPY" else prices
                        rules += versions(draw, f"r{index}", key, values, days)
    for operator in OPERATORS:
        for direction in DIRECTIONS:
            for currency in CURRENCIES:
                index += 1
                if index != drop:
                    key = (operator, direction, currency)
                    costs += versions(draw, f"c{index}", key, prices, days)
    for tier in TIERS:
        for currency in CURRENCIES:
            tier_fees += versions(
                draw, f"f{tier}{currency}", (tier, currency), fees(currency), days
            )

    accounts: list[Account] = []
    tiers: list[TierRow] = []
    events: list[LandedEvent] = []
    sequence = 0
    tenant_count = draw(tenant_counts)
    for number in range(tenant_count):
        tenant_id = uuid.UUID(int=draw(st.integers(1, 2**62)) * 2**64 + number)
        activated = first + timedelta(days=draw(st.integers(-45, len(days) + 3)))
        deactivated = draw(
            st.one_of(
                st.none(), st.integers(1, 60).map(lambda n, a=activated: a + timedelta(days=n))
            )
        )
        currency = draw(st.sampled_from(CURRENCIES))
        accounts.append(Account(tenant_id, currency, activated, deactivated))
        # Usually a tier from activation on; sometimes only from later (a no_tier gap).
        tier_start = activated - timedelta(days=draw(st.sampled_from([0] * 12 + [10, -3])))
        tiers.append(TierRow(tenant_id, draw(st.sampled_from(TIERS)), tier_start))
        if draw(st.booleans()):
            change = draw(st.sampled_from(days))
            if change > tier_start:
                tiers.append(TierRow(tenant_id, draw(st.sampled_from(TIERS)), change))
        # Usage from the tier's start (earlier usage has no tier: a blocker, now and then).
        earliest = max(
            first - timedelta(days=40),
            tier_start - timedelta(days=draw(st.sampled_from([0] * 9 + [5]))),
        )
        for _ in range(draw(st.integers(0, 8))):
            sequence += 1
            offset = timezone(timedelta(hours=draw(st.sampled_from([0, 2, -5, 14]))))
            instant = datetime(earliest.year, earliest.month, earliest.day, tzinfo=UTC) + timedelta(
                minutes=draw(st.integers(0, max(1, (last - earliest).days + 3) * 24 * 60))
            )
            event = LandedEvent(
                sequence,
                uuid.uuid4(),
                tenant_id,
                instant.astimezone(offset),
                draw(st.sampled_from(OPERATORS)),
                draw(st.sampled_from(DIRECTIONS)),
                draw(st.one_of(st.integers(1, 3), st.integers(1, 1000))),
            )
            events.append(event)
            if draw(st.sampled_from([False] * 5 + [True])):  # a re-published duplicate
                sequence += 1
                segments = draw(st.sampled_from([event.segments, event.segments + 1]))
                events.append(
                    LandedEvent(
                        sequence,
                        event.event_id,
                        tenant_id,
                        event.occurred_at,
                        event.operator_id,
                        event.direction,
                        segments,
                    )
                )
    if draw(st.sampled_from([False] * 12 + [True])):  # an event of an unknown tenant
        sequence += 1
        events.append(
            LandedEvent(
                sequence,
                uuid.uuid4(),
                uuid.uuid4(),
                datetime(last.year, last.month, last.day, 12, tzinfo=UTC),
                OPERATORS[0],
                DIRECTIONS[0],
                1,
            )
        )
    return period, World(accounts, tiers, rules, costs, tier_fees, events)


def load(database_url: str, world: World) -> None:
    with psycopg.connect(database_url) as conn:
        for account in world.accounts:
            add_account(
                conn,
                account.tenant_id,
                currency=account.currency,
                activated_on=account.activated_on,
                deactivated_on=account.deactivated_on,
                tier=None,
            )
        for tier in world.tiers:
            add_tier(conn, tier.tenant_id, tier.tier, tier.effective_from)
        set_catalogues(
            conn,
            pricing_rules=[
                PriceRule(r.row_id, *r.key, r.value, r.effective_from, r.effective_to)
                for r in world.pricing_rules
            ],
            operator_costs=[
                OperatorCost(c.row_id, *c.key, c.value, c.effective_from, c.effective_to)
                for c in world.operator_costs
            ],
            tier_fees=[
                TierFee(f.row_id, *f.key, f.value, f.effective_from, f.effective_to)
                for f in world.tier_fees
            ],
        )
        land_events(
            conn,
            [
                Event(
                    e.tenant_id, e.occurred_at, e.operator_id, e.direction, e.segments, e.event_id
                )
                for e in sorted(world.events, key=lambda e: e.stream_sequence)
            ],
        )


def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql).fetchall()


def check_pricing(database_url: str, expected: CloseResult) -> None:
    priced = {
        row[0]: row[1:]
        for row in query(
            database_url,
            "select event_id, rule_id, unit_price, amount, cost_id, cost_amount, margin"
            " from billing.charge_margins",
        )
    }
    assert priced == {
        event_id: (
            c.rule_id,
            c.unit_price,
            c.amount,
            c.cost_id,
            c.cost_amount,
            c.amount - c.cost_amount,
        )
        for event_id, c in expected.priced.items()
    }
    unpriced = dict(
        query(database_url, "select event_id, unpriced_reason from billing.unpriced_charges")
    )
    assert unpriced == expected.unpriced
    # margins: revenue and cost are the exact sums, margin = revenue - cost exactly
    for revenue, cost, margin in query(
        database_url, "select revenue, cost, margin from billing.margins"
    ):
        assert margin == revenue - cost
    total_revenue = query(database_url, "select coalesce(sum(revenue), 0) from billing.margins")[0][
        0
    ]
    assert total_revenue == sum((c.amount for c in expected.priced.values()), Decimal(0))


def check_invoices(database_url: str, period: str, expected: CloseResult) -> None:
    invoices = query(
        database_url,
        "select invoice_number, tenant_id, currency, subtotal, total, line_count"
        " from billing.invoices order by invoice_number",
    )
    yyyymm = period.replace("-", "")
    assert [row[0] for row in invoices] == [
        f"INV-{yyyymm}-{n:06d}" for n in range(1, len(expected.invoices) + 1)
    ]
    assert [(row[1], row[2], row[3], row[4], row[5]) for row in invoices] == [
        (i.tenant_id, i.currency, i.subtotal, i.subtotal, len(i.lines)) for i in expected.invoices
    ]
    lines = query(
        database_url,
        "select invoice_number, line_number, line_type, usage_period, coalesce(rule_id, fee_id),"
        " quantity, unit_price, amount from billing.invoice_lines",
    )
    for (number, *_), invoice in zip(invoices, expected.invoices, strict=True):
        mine = [line for line in lines if line[0] == number]
        assert sorted(line[1] for line in mine) == list(range(1, len(mine) + 1))
        assert Counter(tuple(line[2:]) for line in mine) == Counter(
            (
                line.line_type,
                line.usage_period,
                line.rule_or_fee,
                line.quantity,
                line.unit_price,
                line.amount,
            )
            for line in invoice.lines
        )
        assert sum(line[7] for line in mine) == invoice.subtotal
        billed = {
            row[0]
            for row in query(
                database_url,
                "select event_id from billing.issued_invoice_events"
                f" where invoice_number = '{number}'",
            )
        }
        assert billed == invoice.event_ids
        usage_lines = [line for line in mine if line[2] != "subscription"]
        exact = sum(
            (expected.priced[event_id].amount for event_id in invoice.event_ids), Decimal(0)
        )
        half_unit = smallest_unit(invoice.currency) / 2
        assert abs(exact - sum(line[7] for line in usage_lines)) <= half_unit * len(usage_lines)
        # Each amount carries no more places than the currency's minor units.
        assert all(line[7] == round_half_up(line[7], invoice.currency) for line in mine)
    # Every priced event up to the period is in exactly one line of one invoice.
    counts = query(
        database_url, "select event_id, count(*) from billing.issued_invoice_events group by 1"
    )
    assert all(count == 1 for _, count in counts)
    assert {event_id for event_id, _ in counts} == {
        event_id for event_id, c in expected.priced.items() if c.event.period <= period
    }


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=worlds())
def test_closing_a_month_matches_the_oracle(
    case: tuple[str, World], recreate_database: Any, dbt_target_path: Path
) -> None:
    period, world = case
    database_url = recreate_database()
    load(database_url, world)
    expected = close_period(world, period)
    dbt = DbtProject(database_url, dbt_target_path)
    dbt.build_models(period)
    check_pricing(database_url, expected)
    blockers = query(database_url, "select blocker from billing.close_blockers")
    assert bool(blockers) == expected.blocked
    outcome = dbt.issue(period, check=False)
    event("blocked" if expected.blocked else f"issued {len(expected.invoices)} invoices")
    if expected.blocked:
        assert not outcome.ok
        assert query(database_url, "select count(*) from billing.issued_invoices") == [(0,)]
    else:
        assert outcome.ok, outcome.output
        check_invoices(database_url, period, expected)
