"""The issue step records the event -> line map the build computed (issue 19: the mart
invoice_draft_events), and refuses it unless it still holds: built with the drafts' usage, the
draft lines unchanged since, nothing priced since. Each refusal issues nothing; the next close
issues one consistent set."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.dbt import DbtProject
from warehouse.transform import DbtFailedError

TENANT = uuid.UUID("d0000000-0000-4000-8000-0000000000d1")
OTHER = uuid.UUID("e0000000-0000-4000-8000-0000000000e1")
PRICING = ("stg_raw__message_charged", "int_charges_priced")
ISSUED = ("issued_invoices", "issued_invoice_lines", "issued_invoice_events", "period_closes")
# Each event of the issued invoices with its line's key, against the map it came from.
ISSUED_EVENTS = """
    select events.event_id, lines.tenant_id, lines.usage_period, lines.rule_id
    from billing.issued_invoice_events as events
    inner join billing.issued_invoice_lines as lines
        on events.invoice_number = lines.invoice_number
        and events.line_number = lines.line_number
    order by 1
"""
MAPPED = """
    select event_id, tenant_id, usage_period, rule_id
    from billing.invoice_draft_events
    order by 1
"""


def rows(database_url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query).fetchall()


def nothing_issued(database_url: str) -> bool:
    return all(
        rows(database_url, f"select count(*) from billing.{table}") == [(0,)] for table in ISSUED
    )


def month(database_url: str) -> None:
    """Two tenants, usage on two lines and late usage of September."""
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT)
        add_account(conn, OTHER, currency="USD")
        land_events(
            conn,
            [
                Event(TENANT, at("2026-10-05"), segments=2),
                Event(TENANT, at("2026-10-06"), segments=3),
                Event(TENANT, at("2026-10-07"), "sfr_fr", "outbound", 1),
                Event(TENANT, at("2026-09-30"), segments=5),
                Event(OTHER, at("2026-10-08"), segments=4),
            ],
        )


def one_more_event(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        land_events(conn, [Event(TENANT, at("2026-10-09"), segments=6)])


def test_the_issue_records_the_map_of_the_build_on_its_lines(
    database_url: str, dbt_project: DbtProject
) -> None:
    month(database_url)
    dbt_project.build_models("2026-10")
    mapped = rows(database_url, MAPPED)
    assert len(mapped) == 5
    dbt_project.issue("2026-10")
    assert rows(database_url, ISSUED_EVENTS) == mapped
    [(events,)] = rows(database_url, "select event_count from billing.period_closes")
    assert events == 5


def test_an_event_priced_after_the_build_is_refused_and_nothing_issued(
    database_url: str, dbt_project: DbtProject
) -> None:
    month(database_url)
    dbt_project.build_models("2026-10")
    one_more_event(database_url)
    dbt_project.run("run", "--select", *PRICING, period="2026-10")
    with pytest.raises(DbtFailedError, match="events were priced after the drafts were built"):
        dbt_project.issue("2026-10")
    assert nothing_issued(database_url)
    # Building again issues one consistent set, the new event with it.
    dbt_project.close("2026-10")
    assert len(rows(database_url, ISSUED_EVENTS)) == 6


def test_a_map_built_apart_from_the_drafts_is_refused_and_nothing_issued(
    database_url: str, dbt_project: DbtProject
) -> None:
    month(database_url)
    dbt_project.build_models("2026-10")
    one_more_event(database_url)
    dbt_project.run("run", "--select", *PRICING, "invoice_draft_events", period="2026-10")
    with pytest.raises(DbtFailedError, match=r"the event map \(invoice_draft_events\) and the"):
        dbt_project.issue("2026-10")
    assert nothing_issued(database_url)


def test_draft_lines_older_than_their_usage_are_refused_and_nothing_issued(
    database_url: str, dbt_project: DbtProject
) -> None:
    month(database_url)
    dbt_project.build_models("2026-10")
    one_more_event(database_url)
    dbt_project.run(
        "run",
        "--select",
        *PRICING,
        "int_draft_usage_quantities",
        "invoice_draft_events",
        period="2026-10",
    )
    with pytest.raises(DbtFailedError, match="1 draft lines no longer match the priced events"):
        dbt_project.issue("2026-10")
    assert nothing_issued(database_url)


def test_the_build_fails_when_the_drafts_usage_and_the_map_disagree(
    database_url: str, dbt_project: DbtProject
) -> None:
    """The data test draft_usage_matches_event_map: the content check of every usage line
    against the events the map gives it, in the build (a refresh's additive usage going
    wrong would otherwise be issued under the map's events)."""
    month(database_url)
    dbt_project.build_models("2026-10")
    check = ("test", "--select", "draft_usage_matches_event_map")
    dbt_project.run(*check, period="2026-10")
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "update intermediate.int_draft_usage_quantities set quantity = quantity + 1"
            " where usage_period = '2026-10' and tenant_id = %s",
            (OTHER,),
        )
    with pytest.raises(DbtFailedError, match="draft_usage_matches_event_map"):
        dbt_project.run(*check, period="2026-10")
