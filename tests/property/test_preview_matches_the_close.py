"""Property test: the preview of a month is that month's close, to the cent (issue 20).

Each hypothesis example is one generated world (tests/property/test_invoices_match_the_oracle
.py's generator, with many tenants), made closable: the events the oracle cannot price and
the accounts with an active day without a tier or fee are left out, so the close issues and
there is something to compare. One dbt run per example builds the drafts and the preview
relations, exactly as `billing preview` and the close's step (a) do; the preview is read, then
the issue step runs on the same build with no new event, and every tenant's invoice must
carry the preview's lines, subtotal and total.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.oracle import World, close_period, price_events, subscription_lines
from tests.property.test_invoices_match_the_oracle import load, worlds
from tests.support.dbt import DbtProject

# What a preview line and an issued line both say (the issued one adds its number).
LINE_COLUMNS = (
    "line_number",
    "line_type",
    "description",
    "usage_period",
    "operator_id",
    "direction",
    "account_tier",
    "rule_id",
    "fee_id",
    "quantity",
    "unit_price",
    "amount",
    "service_start",
    "service_end",
    "period_days",
)

# Per tenant: (currency, subtotal, total, line_count), and the lines in order.
Invoices = dict[uuid.UUID, tuple[Any, ...]]
Lines = dict[uuid.UUID, list[tuple[Any, ...]]]


def closable(world: World, period: str) -> World:
    """`world` without what would block the close of `period` (the oracle decides)."""
    _priced, unpriced = price_events(world)
    gaps = {
        account.tenant_id
        for account in world.accounts
        if subscription_lines(world, account, period)[1]
    }
    return World(
        accounts=[a for a in world.accounts if a.tenant_id not in gaps],
        tiers=[t for t in world.tiers if t.tenant_id not in gaps],
        pricing_rules=world.pricing_rules,
        operator_costs=world.operator_costs,
        tier_fees=world.tier_fees,
        events=[e for e in world.events if e.event_id not in unpriced and e.tenant_id not in gaps],
    )


def query(database_url: str, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, parameters).fetchall()


def by_tenant(rows: list[tuple[Any, ...]]) -> dict[uuid.UUID, list[tuple[Any, ...]]]:
    grouped: dict[uuid.UUID, list[tuple[Any, ...]]] = {}
    for tenant_id, *rest in rows:
        grouped.setdefault(tenant_id, []).append(tuple(rest))
    return grouped


def preview(database_url: str, period: str) -> tuple[Invoices, Lines]:
    drafts = query(
        database_url,
        "select tenant_id, currency, subtotal, total, line_count from billing.invoice_previews"
        " where period = %s",
        period,
    )
    lines = query(
        database_url,
        f"select tenant_id, {', '.join(LINE_COLUMNS)} from billing.invoice_preview_lines"
        " where period = %s order by tenant_id, line_number",
        period,
    )
    return {row[0]: tuple(row[1:]) for row in drafts}, by_tenant(lines)


def issued(database_url: str, period: str) -> tuple[Invoices, Lines]:
    invoices = query(
        database_url,
        "select tenant_id, currency, subtotal, total, line_count from billing.invoices"
        " where period = %s",
        period,
    )
    lines = query(
        database_url,
        f"select invoices.tenant_id, {', '.join(f'lines.{name}' for name in LINE_COLUMNS)}"
        " from billing.invoice_lines as lines"
        " inner join billing.invoices as invoices using (invoice_number)"
        " where invoices.period = %s order by invoices.tenant_id, lines.line_number",
        period,
    )
    return {row[0]: tuple(row[1:]) for row in invoices}, by_tenant(lines)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=worlds(tenant_counts=st.integers(10, 24)))
def test_the_preview_of_a_month_is_its_close_for_every_tenant(
    case: tuple[str, World], recreate_database: Any, dbt_target_path: Path
) -> None:
    period, generated = case
    world = closable(generated, period)
    expected = close_period(world, period)
    assert not expected.blocked
    database_url = recreate_database()
    load(database_url, world)
    dbt = DbtProject(database_url, dbt_target_path)
    dbt.build_models(period)  # the preview's build: drafts and preview relations
    drafts, draft_lines = preview(database_url, period)
    dbt.issue(period)  # the close's step (c) on that build, no new event in between
    invoices, invoice_lines = issued(database_url, period)
    event(f"{len(invoices)} invoices of {len(world.accounts)} tenants")
    assert sorted(invoices) == sorted(invoice.tenant_id for invoice in expected.invoices)
    assert drafts == invoices  # every tenant: currency, subtotal, total, line count
    assert draft_lines == invoice_lines  # every line of every tenant, in order
    numbers = query(
        database_url, "select min(invoice_number) from billing.invoices where period = %s", period
    )
    if invoices:
        assert numbers == [(f"INV-{period.replace('-', '')}-000001",)]
