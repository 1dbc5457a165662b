"""Each first close records the pricing state it issued from (billing.period_closes.
priced_through, migration 0024); later closes check against the issued events only the events
of closed months priced after it (int_invoiceable_charges), and the per-event data tests read
only the rows a close can still bill (macros/close/settled_rows.sql). Issue 19."""

from __future__ import annotations

import uuid

import psycopg

from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.dbt import DbtProject
from tests.support.ingest import rows

TENANT = uuid.UUID("d0000000-0000-4000-8000-0000000000d2")
OTHER = uuid.UUID("e0000000-0000-4000-8000-0000000000e2")
PRICED_TEST = ("test", "--select", "int_charges_priced,test_type:data")


def land(database_url: str, events: list[Event]) -> None:
    with psycopg.connect(database_url) as conn:
        land_events(conn, events)


def test_consecutive_closes_bill_every_event_once_late_usage_included(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT)
        add_account(conn, OTHER, currency="USD")
    land(
        database_url,
        [
            Event(TENANT, at("2026-09-10"), segments=2),
            Event(OTHER, at("2026-09-11"), segments=3),
            Event(TENANT, at("2026-10-02"), segments=4),  # landed before September's close
        ],
    )
    dbt_project.close("2026-09")

    # The close recorded the newest priced_at its drafts were built from.
    assert rows(
        database_url,
        "select closes.priced_through = (select max(priced_at)"
        "  from intermediate.int_charges_priced)"
        " from billing.period_closes as closes",
    ) == [(True,)]

    # A late September event and more October usage, then October's close and November's.
    land(
        database_url,
        [
            Event(OTHER, at("2026-09-29"), segments=5),
            Event(TENANT, at("2026-10-20"), segments=6),
        ],
    )
    dbt_project.close("2026-10")
    land(database_url, [Event(TENANT, at("2026-11-03"), segments=7)])
    dbt_project.close("2026-11")

    # Every priced event is on exactly one invoice: September's two in September, the late
    # one and October's two in October, November's in November.
    billed = rows(
        database_url,
        "select invoices.period, lines.usage_period, lines.line_type, events.segments"
        " from billing.issued_invoice_events as issued"
        " inner join billing.issued_invoices as invoices"
        "  on issued.invoice_number = invoices.invoice_number"
        " inner join billing.issued_invoice_lines as lines"
        "  on issued.invoice_number = lines.invoice_number"
        "  and issued.line_number = lines.line_number"
        " inner join intermediate.int_charges_priced as events"
        "  on issued.event_id = events.event_id"
        " order by events.segments",
    )
    assert billed == [
        ("2026-09", "2026-09", "usage", 2),
        ("2026-09", "2026-09", "usage", 3),
        ("2026-10", "2026-10", "usage", 4),
        ("2026-10", "2026-09", "late_usage", 5),
        ("2026-10", "2026-10", "usage", 6),
        ("2026-11", "2026-11", "usage", 7),
    ]
    assert rows(database_url, "select period, kind from billing.period_closes order by 1") == [
        ("2026-09", "close"),
        ("2026-10", "close"),
        ("2026-11", "close"),
    ]


def test_per_event_tests_check_the_rows_a_close_can_still_bill(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT)
    land(database_url, [Event(TENANT, at("2026-09-10"), segments=2)])
    dbt_project.close("2026-09")
    land(database_url, [Event(TENANT, at("2026-10-05"), segments=3)])
    dbt_project.build_models("2026-10")
    assert dbt_project.run(*PRICED_TEST, period="2026-10").returncode == 0

    def corrupt(period: str) -> None:
        with psycopg.connect(database_url) as conn:
            conn.execute(
                "update intermediate.int_charges_priced set amount = amount + 1 where period = %s",
                (period,),
            )

    # A settled row (billed by September's close, never written again) is out of scope...
    corrupt("2026-09")
    assert dbt_project.run(*PRICED_TEST, period="2026-10").returncode == 0
    # ... a row October's close would bill is checked.
    corrupt("2026-10")
    failed = dbt_project.run(*PRICED_TEST, period="2026-10", check=False)
    assert failed.returncode != 0
    assert "expression_is_true_int_charges_priced" in failed.output
