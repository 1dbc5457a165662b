"""The dbt project end to end on a real PostgreSQL: from landed events to issued invoices.

Prices come from the committed Finance catalogues (dbt_project/seeds), so the expected
amounts below can be checked by hand against those CSV files.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.support.billing_data import Event, add_account, add_tier, at, land_events
from tests.support.dbt import DbtProject
from tests.support.forge import forged_history
from warehouse.transform import DbtFailedError

TENANT_A = uuid.UUID("a0000000-0000-4000-8000-00000000000a")
TENANT_B = uuid.UUID("b0000000-0000-4000-8000-00000000000b")
TENANT_C = uuid.UUID("c0000000-0000-4000-8000-00000000000c")


def rows(database_url: str, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, parameters).fetchall()


def invoice_lines(database_url: str, number: str) -> list[tuple[Any, ...]]:
    return rows(
        database_url,
        "select line_type, usage_period, operator_id, direction, rule_id, fee_id, quantity,"
        " unit_price, amount from billing.invoice_lines where invoice_number = %s"
        " order by line_number",
        number,
    )


def test_a_month_is_invoiced_with_exact_totals(database_url: str, dbt_project: DbtProject) -> None:
    with psycopg.connect(database_url) as conn:
        # A: starter, EUR, whole month. B: business, USD, activated on the 17th of October.
        add_account(conn, TENANT_A, currency="EUR", tier="starter")
        add_account(
            conn, TENANT_B, currency="USD", tier="business", activated_on=date(2026, 10, 17)
        )
        land_events(
            conn,
            [Event(TENANT_A, at("2026-10-03"), "orange_fr", "outbound", 2) for _ in range(100)]
            + [Event(TENANT_A, at("2026-10-20"), "att_us", "inbound", 1) for _ in range(7)]
            + [Event(TENANT_B, at("2026-10-18"), "bt_uk", "outbound", 3) for _ in range(11)],
        )
    dbt_project.close("2026-10")

    invoices = rows(
        database_url,
        "select invoice_number, tenant_id, currency, subtotal, total, line_count, status"
        " from billing.invoices order by invoice_number",
    )
    # Numbers in tenant_id order: A (a000...) before B (b000...).
    assert [row[:3] for row in invoices] == [
        ("INV-202610-000001", TENANT_A, "EUR"),
        ("INV-202610-000002", TENANT_B, "USD"),
    ]
    # A: fee 48.99 + 7 x 0.002850 = 0.01995 -> 0.02 (half-up) + 200 x 0.065100 (orange_fr v2
    # since July) = 13.02: 62.03.
    assert invoice_lines(database_url, "INV-202610-000001") == [
        (
            "subscription",
            "2026-10",
            None,
            None,
            None,
            "starter.EUR.2025",
            31,
            Decimal("48.990000"),
            Decimal("48.99"),
        ),
        (
            "usage",
            "2026-10",
            "att_us",
            "inbound",
            "starter.att_us.inbound.EUR.v1",
            None,
            7,
            Decimal("0.002850"),
            Decimal("0.02"),
        ),
        (
            "usage",
            "2026-10",
            "orange_fr",
            "outbound",
            "starter.orange_fr.outbound.EUR.v2",
            None,
            200,
            Decimal("0.065100"),
            Decimal("13.02"),
        ),
    ]
    assert invoices[0][3:] == (Decimal("62.03"), Decimal("62.03"), 3, "issued")
    # B: 15 of 31 days of 214.99 USD = 104.03; 33 segments x 0.044064 = 1.454112 -> 1.45.
    assert invoice_lines(database_url, "INV-202610-000002") == [
        (
            "subscription",
            "2026-10",
            None,
            None,
            None,
            "business.USD.2025",
            15,
            Decimal("214.990000"),
            Decimal("104.03"),
        ),
        (
            "usage",
            "2026-10",
            "bt_uk",
            "outbound",
            "business.bt_uk.outbound.USD.v1",
            None,
            33,
            Decimal("0.044064"),
            Decimal("1.45"),
        ),
    ]
    assert invoices[1][3:] == (Decimal("105.48"), Decimal("105.48"), 2, "issued")
    # Every billed event is on exactly one line; the close is recorded.
    assert rows(
        database_url, "select count(*), count(distinct event_id) from billing.issued_invoice_events"
    ) == [(118, 118)]
    assert rows(
        database_url, "select period, kind, invoice_count, event_count from billing.period_closes"
    ) == [("2026-10", "close", 2, 118)]


def test_a_price_change_on_the_15th_gives_two_lines(
    database_url: str, dbt_project: DbtProject
) -> None:
    # Catalogue: vodafone_de changes price on 2026-10-15 (v1 until the 14th, v2 from the 15th).
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A, currency="EUR", tier="enterprise")
        land_events(
            conn,
            [
                Event(TENANT_A, at("2026-10-14", "23:59:59"), "vodafone_de", "outbound", 10),
                Event(TENANT_A, at("2026-10-15", "00:00:00"), "vodafone_de", "outbound", 20),
                Event(TENANT_A, at("2026-10-31", "23:00:00"), "vodafone_de", "outbound", 5),
            ],
        )
    dbt_project.close("2026-10")
    usage = [
        line for line in invoice_lines(database_url, "INV-202610-000001") if line[0] == "usage"
    ]
    assert usage == [
        (
            "usage",
            "2026-10",
            "vodafone_de",
            "outbound",
            "enterprise.vodafone_de.outbound.EUR.v1",
            None,
            10,
            Decimal("0.049700"),
            Decimal("0.50"),
        ),
        (
            "usage",
            "2026-10",
            "vodafone_de",
            "outbound",
            "enterprise.vodafone_de.outbound.EUR.v2",
            None,
            25,
            Decimal("0.047712"),
            Decimal("1.19"),
        ),
    ]


def test_a_catalogue_edit_reprices_the_open_month_and_never_an_issued_invoice(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A, currency="EUR", tier="starter")
        land_events(conn, [Event(TENANT_A, at("2026-10-05"), "sfr_fr", "outbound", 100)])
    dbt_project.close("2026-10")
    october = "select * from billing.issued_invoices order by invoice_number"
    october_lines = (
        "select * from billing.issued_invoice_lines order by invoice_number, line_number"
    )
    issued_before = rows(database_url, october), rows(database_url, october_lines)

    with psycopg.connect(database_url) as conn:
        land_events(conn, [Event(TENANT_A, at("2026-11-05"), "sfr_fr", "outbound", 100)])
        # Finance raises the sfr_fr starter price from November 1st (a new version).
        conn.execute(
            "update catalogue.pricing_rules set effective_to = '2026-11-01'"
            " where rule_id = 'starter.sfr_fr.outbound.EUR.v1'"
        )
        conn.execute(
            "insert into catalogue.pricing_rules values ('starter.sfr_fr.outbound.EUR.v2',"
            " 'starter', 'sfr_fr', 'outbound', 'EUR', 0.070000, '2026-11-01', null)"
        )
    dbt_project.build_models("2026-11")
    # November's open events use the new version; October's billed event keeps its price.
    assert rows(
        database_url, "select period, rule_id, amount from billing.priced_charges order by period"
    ) == [
        ("2026-10", "starter.sfr_fr.outbound.EUR.v1", Decimal("5.800000")),
        ("2026-11", "starter.sfr_fr.outbound.EUR.v2", Decimal("7.000000")),
    ]
    dbt_project.issue("2026-11")
    # Re-closing October is a no-op, and October's rows are byte-identical.
    dbt_project.close("2026-10")
    assert (
        rows(database_url, october)[:1],
        rows(database_url, october_lines)[: len(issued_before[1])],
    ) == (
        issued_before[0],
        issued_before[1],
    )
    assert rows(
        database_url, "select count(*) from billing.issued_invoices where period = '2026-10'"
    ) == [(1,)]
    assert rows(
        database_url,
        "select amount from billing.invoice_lines where invoice_number = 'INV-202611-000001'"
        " and line_type = 'usage'",
    ) == [(Decimal("7.00"),)]


def test_closing_a_closed_month_issues_nothing(database_url: str, dbt_project: DbtProject) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A)
        land_events(conn, [Event(TENANT_A, at("2026-10-05"))])
    dbt_project.close("2026-10")
    snapshot = rows(database_url, "select * from billing.issued_invoices")
    dbt_project.close("2026-10")
    assert rows(database_url, "select * from billing.issued_invoices") == snapshot
    assert rows(database_url, "select count(*) from billing.period_closes") == [(1,)]


def test_late_events_go_on_the_next_invoice_labelled_with_their_month(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A, tier="starter")
        # C left at the end of September: its only October activity will be late usage.
        add_account(conn, TENANT_C, tier="starter", deactivated_on=date(2026, 10, 1))
        land_events(conn, [Event(TENANT_A, at("2026-09-10"), "tim_it", "outbound", 1)])
    dbt_project.close("2026-09")
    with psycopg.connect(database_url) as conn:
        land_events(
            conn,
            [
                Event(TENANT_A, at("2026-09-30", "23:30:00"), "tim_it", "outbound", 4),
                Event(TENANT_A, at("2026-10-02"), "tim_it", "outbound", 2),
                Event(TENANT_C, at("2026-09-29"), "bt_uk", "inbound", 3),
            ],
        )
    dbt_project.close("2026-10")
    october = rows(
        database_url,
        "select tenant_id, invoice_number from billing.invoices where period = '2026-10'"
        " order by invoice_number",
    )
    assert [tenant for tenant, _ in october] == [TENANT_A, TENANT_C]
    lines_a = invoice_lines(database_url, october[0][1])
    assert [(line[0], line[1], line[6]) for line in lines_a] == [
        ("subscription", "2026-10", 31),
        ("usage", "2026-10", 2),
        ("late_usage", "2026-09", 4),
    ]
    assert [
        (line[0], line[1], line[2], line[6]) for line in invoice_lines(database_url, october[1][1])
    ] == [("late_usage", "2026-09", "bt_uk", 3)]
    # Each event billed once over both months.
    assert rows(
        database_url, "select count(*), count(distinct event_id) from billing.issued_invoice_events"
    ) == [(4, 4)]


def test_duplicates_are_billed_once_and_conflicting_payloads_listed(
    database_url: str, dbt_project: DbtProject
) -> None:
    original = Event(TENANT_A, at("2026-10-05"), segments=2)
    same_again = Event(TENANT_A, at("2026-10-05"), segments=2, event_id=original.event_id)
    conflicting = Event(TENANT_A, at("2026-10-05"), segments=9, event_id=original.event_id)
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A)
        land_events(conn, [original, same_again])
    dbt_project.build_models("2026-10")
    with psycopg.connect(database_url) as conn:
        land_events(conn, [conflicting])  # a later run sees the conflicting landing
    dbt_project.close("2026-10")
    assert rows(database_url, "select event_id, segments from billing.priced_charges") == [
        (original.event_id, 2)
    ]
    assert rows(
        database_url,
        "select event_id, billed_stream_sequence, duplicate_stream_sequence,"
        " (duplicate_payload->>'segments')::int from billing.charge_conflicts",
    ) == [(original.event_id, 1, 3, 9)]
    assert rows(
        database_url, "select quantity from billing.invoice_lines where line_type = 'usage'"
    ) == [(2,)]


def test_unpriced_events_block_the_close_and_nothing_is_issued(
    database_url: str, dbt_project: DbtProject
) -> None:
    unknown_tenant = uuid.UUID("99999999-0000-4000-8000-000000000099")
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A)
        land_events(
            conn, [Event(TENANT_A, at("2026-10-05")), Event(unknown_tenant, at("2026-10-06"))]
        )
    result = dbt_project.build("2026-10", check=False)
    assert not result.ok
    assert "is_empty_close_blockers" in result.output
    assert rows(database_url, "select blocker, item_count from billing.close_blockers") == [
        ("unpriced_events", 1)
    ]
    assert rows(database_url, "select event_id, unpriced_reason from billing.unpriced_charges") == [
        (
            rows(
                database_url,
                "select event_id from raw.message_charged where tenant_id = %s",
                unknown_tenant,
            )[0][0],
            "unknown_account",
        )
    ]
    with pytest.raises(DbtFailedError, match="blockers"):
        dbt_project.issue("2026-10")
    assert rows(database_url, "select count(*) from billing.issued_invoices") == [(0,)]
    assert rows(database_url, "select count(*) from billing.period_closes") == [(0,)]


def test_a_failing_issue_leaves_nothing_behind(database_url: str, dbt_project: DbtProject) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A)
        add_account(conn, TENANT_B, currency="USD")
        land_events(conn, [Event(TENANT_A, at("2026-10-05")), Event(TENANT_B, at("2026-10-05"))])
    dbt_project.build_models("2026-10")
    # Inject a failure in the middle of the transaction (after its lock, guards and
    # snapshots): the second number is already taken (forged: the database itself refuses
    # such a row), so the numbers the drafts carry are no longer the next ones.
    with psycopg.connect(database_url) as conn, forged_history(conn):
        conn.execute(
            "insert into billing.issued_invoices (invoice_number, period, seq, tenant_id, currency,"
            " subtotal, total, line_count, issued_at) values ('INV-202610-000002', '2026-10', 2,"
            " %s, 'EUR', 1, 1, 1, now())",
            (TENANT_C,),
        )
    with pytest.raises(DbtFailedError, match=r"is not the next one .*: numbers are gapless"):
        dbt_project.issue("2026-10")
    assert rows(database_url, "select invoice_number from billing.issued_invoices") == [
        ("INV-202610-000002",)
    ]
    for table in ("issued_invoice_lines", "issued_invoice_events", "period_closes"):
        assert rows(database_url, f"select count(*) from billing.{table}") == [(0,)]


def test_tier_change_and_deactivation_prorate_the_subscription(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A, tier="starter", deactivated_on=date(2026, 10, 21))
        add_tier(conn, TENANT_A, "business", date(2026, 10, 11))
    dbt_project.close("2026-10")
    assert invoice_lines(database_url, "INV-202610-000001") == [
        (
            "subscription",
            "2026-10",
            None,
            None,
            None,
            "starter.EUR.2025",
            10,
            Decimal("48.990000"),
            Decimal("15.80"),
        ),
        (
            "subscription",
            "2026-10",
            None,
            None,
            None,
            "business.EUR.2025",
            10,
            Decimal("198.990000"),
            Decimal("64.19"),
        ),
    ]
