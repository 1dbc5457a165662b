"""The drafts' usage kept up to date by new events equals the usage aggregated from scratch
(issue 19: int_draft_usage_quantities adds the events priced since its last build)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.dbt import DbtProject

TENANT_A = uuid.UUID("a0000000-0000-4000-8000-00000000000a")
TENANT_B = uuid.UUID("b0000000-0000-4000-8000-00000000000b")
ADDING = "int_draft_usage_quantities: adding the events priced since its last build"

KEPT = """
    select tenant_id, replaces_invoice_number, usage_period, rule_id, unit_price, quantity,
        event_count
    from intermediate.int_draft_usage_quantities
    order by 1, 2, 3, 4, 5
"""
FROM_SCRATCH = """
    select tenant_id, replaces_invoice_number, usage_period, rule_id, unit_price,
        sum(segments), count(*)
    from intermediate.int_invoiceable_charges
    group by 1, 2, 3, 4, 5
    order by 1, 2, 3, 4, 5
"""


def rows(database_url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query).fetchall()


def test_new_events_are_added_and_anything_else_rebuilds(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A)
        add_account(conn, TENANT_B, currency="USD")
        land_events(conn, [Event(TENANT_A, at("2026-10-05"), segments=2)])
    first = dbt_project.build_models("2026-10")
    assert ADDING not in first.output

    with psycopg.connect(database_url) as conn:
        land_events(
            conn,
            [
                Event(TENANT_A, at("2026-10-06"), segments=3),  # the same line
                Event(TENANT_A, at("2026-10-07"), "sfr_fr", "outbound", 1),  # a new line
                Event(TENANT_B, at("2026-10-08"), segments=4),  # a new tenant's
                Event(TENANT_A, at("2026-09-30"), segments=5),  # late usage
                Event(TENANT_A, at("2026-11-01"), segments=7),  # next month: not drafted
            ],
        )
    refresh = dbt_project.build_models("2026-10")
    assert ADDING in refresh.output
    kept = rows(database_url, KEPT)
    assert kept == rows(database_url, FROM_SCRATCH)
    assert sorted(quantity for *_, quantity, _ in kept) == [1, 4, 5, 5]

    # A catalogue edit re-prices the open events: aggregated again, not added.
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "update catalogue.pricing_rules set unit_price = unit_price * 2"
            " where operator_id = 'orange_fr'"
        )
    repriced = dbt_project.build_models("2026-10")
    assert ADDING not in repriced.output
    assert rows(database_url, KEPT) == rows(database_url, FROM_SCRATCH)

    # Another period is aggregated from scratch too, and the close issues what was kept.
    november = dbt_project.build_models("2026-11")
    assert ADDING not in november.output
    dbt_project.close("2026-10")
    with psycopg.connect(database_url) as conn:
        (issued,) = conn.execute(
            "select count(*) from billing.issued_invoices where period = '2026-10'"
        ).fetchone() or (0,)
    assert issued == 2
