"""margins kept up to date incrementally equals margins built from nothing (issue 19): after
new events (their sums added to the groups built), after a re-price (the period aggregated
again), and after both in one run."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.dbt import DbtProject

TENANT_A = uuid.UUID("a0000000-0000-4000-8000-00000000000a")
TENANT_B = uuid.UUID("b0000000-0000-4000-8000-00000000000b")

MARGINS = """
    select period, tenant_id, operator_id, direction, currency, event_count, segments, revenue,
        cost, margin, margin_pct, priced_through, through_stream_sequence
    from billing.margins
    order by 1, 2, 3, 4
"""
# The figures margins must hold, from every priced event (the stamps aside).
FROM_SCRATCH = """
    select period, tenant_id, operator_id, direction, currency, count(*), sum(segments),
        sum(amount), sum(cost_amount)
    from intermediate.int_charges_priced
    where unpriced_reason is null
    group by 1, 2, 3, 4, 5
    order by 1, 2, 3, 4
"""


def rows(database_url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query).fetchall()


def assert_equals_a_full_build(database_url: str, dbt_project: DbtProject) -> None:
    kept = rows(database_url, MARGINS)
    assert [row[:9] for row in kept] == rows(database_url, FROM_SCRATCH)
    dbt_project.run("run", "--full-refresh", "--select", "margins", period="2026-10")
    assert rows(database_url, MARGINS) == kept


def test_incremental_margins_equal_a_full_build(database_url: str, dbt_project: DbtProject) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A)
        add_account(conn, TENANT_B, currency="USD")
        land_events(
            conn,
            [
                Event(TENANT_A, at("2026-10-05"), segments=2),
                Event(TENANT_A, at("2026-09-20"), "sfr_fr", segments=1),
            ],
        )
    dbt_project.build_models("2026-10")
    built = rows(database_url, MARGINS)
    assert [row[5:7] for row in built] == [(1, 1), (1, 2)]

    with psycopg.connect(database_url) as conn:
        land_events(
            conn,
            [
                Event(TENANT_A, at("2026-10-06"), segments=3),  # the same group
                Event(TENANT_A, at("2026-10-07"), "sfr_fr", "outbound", 1),  # a new group
                Event(TENANT_B, at("2026-10-08"), segments=4),  # a new tenant's
                Event(TENANT_A, at("2026-09-30"), "sfr_fr", segments=5),  # late usage
                Event(TENANT_A, at("2026-11-01"), segments=7),  # another period
            ],
        )
    dbt_project.build_models("2026-10")
    assert sorted(row[6] for row in rows(database_url, MARGINS)) == [1, 4, 5, 6, 7]
    assert_equals_a_full_build(database_url, dbt_project)

    # A catalogue edit re-prices the open events: their periods are aggregated again.
    with psycopg.connect(database_url) as conn:
        revenue_before = conn.execute(
            "select sum(revenue) from billing.margins where operator_id = 'orange_fr'"
        ).fetchone()
        conn.execute(
            "update catalogue.pricing_rules set unit_price = unit_price * 2"
            " where operator_id = 'orange_fr'"
        )
    dbt_project.build_models("2026-10")
    with psycopg.connect(database_url) as conn:
        revenue_after = conn.execute(
            "select sum(revenue) from billing.margins where operator_id = 'orange_fr'"
        ).fetchone()
    assert revenue_before is not None
    assert revenue_after is not None
    assert revenue_after[0] == 2 * revenue_before[0]
    assert_equals_a_full_build(database_url, dbt_project)

    # New events and a re-price in the same run.
    with psycopg.connect(database_url) as conn:
        land_events(
            conn,
            [
                Event(TENANT_B, at("2026-10-09"), "sfr_fr", segments=2),
                Event(TENANT_A, at("2026-11-02"), segments=1),
            ],
        )
        conn.execute(
            "update catalogue.operator_costs set unit_cost = unit_cost + 0.000001"
            " where operator_id = 'sfr_fr'"
        )
    dbt_project.build_models("2026-10")
    assert_equals_a_full_build(database_url, dbt_project)
