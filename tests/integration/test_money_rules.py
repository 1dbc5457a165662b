"""Money rules of issue 17 on a real PostgreSQL with the real dbt project (SPEC sections 2-4).

Each test fails on the code before issue 17: amounts rounded to 2 places whatever the
currency, catalogue values silently rounded on load, margins left stale by a later run,
margin_pct rounded per event, a re-price between build and issue half-applied, and invoice
numbers past 999,999 truncated.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from billing.issued import find_issued
from invoice_renderer.events import invoice_generated
from invoice_renderer.model import StoredDocument
from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.dbt import DbtProject
from tests.support.forge import forged_history
from warehouse.transform import DbtFailedError

YEN = uuid.UUID("a0000000-0000-4000-8000-0000000000a1")
DINAR = uuid.UUID("b0000000-0000-4000-8000-0000000000b1")
EURO = uuid.UUID("c0000000-0000-4000-8000-0000000000c1")


def rows(database_url: str, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, parameters).fetchall()


def add_currency_catalogue(
    conn: psycopg.Connection[Any],
    currency: str,
    *,
    fee: str,
    outbound: str,
    inbound: str,
    cost: str = "0.001000",
) -> None:
    """Business-tier catalogue rows in `currency` for sfr_fr (prices per segment) and a fee."""
    for direction, price in (("outbound", outbound), ("inbound", inbound)):
        conn.execute(
            "insert into catalogue.pricing_rules values (%s, 'business', 'sfr_fr', %s, %s, %s,"
            " '2025-01-01', null)",
            (f"business.sfr_fr.{direction}.{currency}.v1", direction, currency, Decimal(price)),
        )
        conn.execute(
            "insert into catalogue.operator_costs values (%s, 'sfr_fr', %s, %s, %s,"
            " '2025-01-01', null)",
            (f"sfr_fr.{direction}.{currency}.v1", direction, currency, Decimal(cost)),
        )
    conn.execute(
        "insert into catalogue.tier_fees values (%s, 'business', %s, %s, '2025-01-01', null)",
        (f"business.{currency}.2025", currency, Decimal(fee)),
    )


def lines_of(database_url: str, tenant_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return rows(
        database_url,
        "select l.line_type, l.quantity, l.unit_price, l.amount from billing.invoice_lines l"
        " join billing.invoices i using (invoice_number) where i.tenant_id = %s"
        " order by l.line_number",
        tenant_id,
    )


def test_amounts_round_half_up_to_each_currency_s_minor_units(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_currency_catalogue(conn, "JPY", fee="9900", outbound="3.5", inbound="1.25")
        add_currency_catalogue(conn, "BHD", fee="18.990", outbound="0.0125", inbound="0.0031")
        # A JPY tenant with a partial first month (from the 17th: 15 of 31 days), a BHD tenant
        # from the 10th (22 of 31 days).
        add_account(conn, YEN, currency="JPY", tier="business", activated_on=date(2026, 10, 17))
        add_account(conn, DINAR, currency="BHD", tier="business", activated_on=date(2026, 10, 10))
        land_events(
            conn,
            [
                Event(YEN, at("2026-10-20"), "sfr_fr", "outbound", 7),
                Event(YEN, at("2026-10-21"), "sfr_fr", "inbound", 3),
                Event(DINAR, at("2026-10-20"), "sfr_fr", "outbound", 3),
            ],
        )
    dbt_project.close("2026-10")

    # JPY: 9900 x 15/31 = 4790.32 -> 4790; 7 x 3.5 = 24.5 -> 25 (half-up); 3 x 1.25 = 3.75 -> 4.
    assert lines_of(database_url, YEN) == [
        ("subscription", 15, Decimal("9900"), Decimal("4790")),
        ("usage", 3, Decimal("1.25"), Decimal("4")),
        ("usage", 7, Decimal("3.5"), Decimal("25")),
    ]
    # BHD: 18.990 x 22/31 = 13.47677 -> 13.477; 3 x 0.0125 = 0.0375 -> 0.038.
    assert lines_of(database_url, DINAR) == [
        ("subscription", 22, Decimal("18.990"), Decimal("13.477")),
        ("usage", 3, Decimal("0.0125"), Decimal("0.038")),
    ]
    totals = rows(
        database_url,
        "select tenant_id, currency, subtotal, total from billing.invoices order by tenant_id",
    )
    assert totals == [
        (YEN, "JPY", Decimal("4819"), Decimal("4819")),
        (DINAR, "BHD", Decimal("13.515"), Decimal("13.515")),
    ]
    # The stored values carry exactly the currency's places (no "4819.00", no "13.52").
    assert [str(subtotal) for _, _, subtotal, _ in totals] == ["4819", "13.515"]

    # billing.invoice.generated.v1: decimal strings with the currency's own places.
    with psycopg.connect(database_url) as conn:
        events = {}
        for (number,) in conn.execute("select invoice_number from billing.issued_invoices"):
            invoice = find_issued(conn, number)
            assert invoice is not None
            stored = StoredDocument(f"file:///{number}.pdf", "ab" * 32, 1, created=True)
            event = invoice_generated(invoice, stored, uuid.uuid4(), datetime.now(UTC))
            events[event["currency"]] = (event["subtotal"], event["total"])
    assert events == {"JPY": ("4819", "4819"), "BHD": ("13.515", "13.515")}


def test_a_catalogue_value_with_too_many_decimals_fails_the_build_by_name(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_currency_catalogue(conn, "JPY", fee="9900.5", outbound="3.5", inbound="1.25")
        conn.execute(
            "update catalogue.pricing_rules set unit_price = 0.0012345"
            " where rule_id = 'starter.sfr_fr.outbound.EUR.v1'"
        )
        add_account(conn, EURO, tier="starter")
        land_events(conn, [Event(EURO, at("2026-10-05"), "sfr_fr", "outbound", 1)])
    # The value is stored exactly as written (no column type rounds it to 0.001235) ...
    assert rows(
        database_url,
        "select unit_price from catalogue.pricing_rules"
        " where rule_id = 'starter.sfr_fr.outbound.EUR.v1'",
    ) == [(Decimal("0.0012345"),)]
    # ... and the build's catalogue tests refuse it, naming the row; a JPY fee with decimals
    # too. (`dbt test`, as `dbt build` would load the committed CSV files over these rows.)
    result = dbt_project.run(
        "test", "--select", "pricing_rules", "tier_fees", period="2026-10", check=False
    )
    assert not result.ok
    assert (
        "pricing_rules row rule_id=starter.sfr_fr.outbound.EUR.v1: unit_price 0.0012345 has"
        " more than 6 decimal places" in result.output
    )
    assert "tier_fees row fee_id=business.JPY.2025: monthly_fee 9900.5 has more than 0" in (
        result.output
    )
    assert "decimal_places_within_pricing_rules_unit_price" in result.output
    # Trailing zeros are no extra decimals: the committed catalogues pass.
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "update catalogue.pricing_rules set unit_price = 0.058000"
            " where rule_id = 'starter.sfr_fr.outbound.EUR.v1'"
        )
        conn.execute("update catalogue.tier_fees set monthly_fee = 9900.000 where currency = 'JPY'")
    dbt_project.run("test", "--select", "pricing_rules", "tier_fees", period="2026-10")


def test_margins_follow_a_reprice_made_by_an_earlier_run(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, EURO, tier="starter")
        land_events(conn, [Event(EURO, at("2026-10-05"), "sfr_fr", "outbound", 100)])
    dbt_project.build_models("2026-10")
    margin = "select revenue, cost, margin from billing.margins"
    assert rows(database_url, margin) == [
        (Decimal("5.800000"), Decimal("3.190000"), Decimal("2.610000"))
    ]
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "update catalogue.pricing_rules set unit_price = 0.070000"
            " where rule_id = 'starter.sfr_fr.outbound.EUR.v1'"
        )
    # One run reprices the events; a later run builds margins.
    dbt_project.run(
        "run", "--select", "int_pricing_inputs_checksum", "int_charges_priced", period="2026-10"
    )
    dbt_project.run("run", "--select", "margins", period="2026-10")
    assert rows(database_url, margin) == [(Decimal("7.0"), Decimal("3.19"), Decimal("3.81"))]
    # And a run with nothing repriced leaves them as they are.
    dbt_project.run("run", "--select", "margins", period="2026-10")
    assert rows(database_url, margin) == [(Decimal("7.0"), Decimal("3.19"), Decimal("3.81"))]


def test_margin_pct_is_exact_per_event_and_costs_stay_with_finance(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, EURO, tier="starter")
        # starter orange_fr outbound EUR v2 0.065100, cost 0.034100: 0.031 / 0.0651 = 0.47619...
        land_events(conn, [Event(EURO, at("2026-10-05"), "orange_fr", "outbound", 1)])
    dbt_project.build_models("2026-10")
    [(amount, cost_amount, margin, margin_pct)] = rows(
        database_url, "select amount, cost_amount, margin, margin_pct from billing.charge_margins"
    )
    assert (amount, cost_amount, margin) == (
        Decimal("0.065100"),
        Decimal("0.034100"),
        Decimal("0.031000"),
    )
    assert margin_pct != Decimal("0.476190")  # not rounded to 6 places
    assert abs(margin_pct - margin / amount) < Decimal("1E-15")
    # The tenant-facing per-event mart has prices and amounts only.
    columns = rows(
        database_url,
        "select column_name from information_schema.columns"
        " where table_schema = 'billing' and table_name = 'priced_charges'",
    )
    assert {name for (name,) in columns}.isdisjoint(
        {"cost_id", "unit_cost", "cost_amount", "margin", "margin_pct"}
    )


def test_a_reprice_between_build_and_issue_is_refused_never_half_applied(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, EURO, tier="starter")
        land_events(conn, [Event(EURO, at("2026-10-05"), "sfr_fr", "outbound", 100)])
    dbt_project.build_models("2026-10")
    assert rows(database_url, "select subtotal from billing.invoice_drafts") == [
        (Decimal("54.79"),)
    ]
    # Finance changes the price in place (same rule id) and a run reprices the events, but
    # the drafts are not rebuilt: the amounts (drafts) and the event map would disagree.
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "update catalogue.pricing_rules set unit_price = 0.070000"
            " where rule_id = 'starter.sfr_fr.outbound.EUR.v1'"
        )
    dbt_project.run(
        "run", "--select", "int_pricing_inputs_checksum", "int_charges_priced", period="2026-10"
    )
    with pytest.raises(DbtFailedError, match="no longer match the priced events"):
        dbt_project.issue("2026-10")
    for table in ("issued_invoices", "issued_invoice_lines", "issued_invoice_events"):
        assert rows(database_url, f"select count(*) from billing.{table}") == [(0,)]
    # Building again issues one consistent set, at the new price.
    dbt_project.close("2026-10")
    assert lines_of(database_url, EURO)[1] == (
        "usage",
        100,
        Decimal("0.070000"),
        Decimal("7.00"),
    )


def test_a_period_past_999999_invoice_numbers_is_refused_with_a_clear_error(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, EURO, tier="starter")
        # The period's series already reached the last six-digit number (forged: the
        # database refuses an invoice without its lines).
        with forged_history(conn):
            conn.execute(
                "insert into billing.issued_invoices (invoice_number, period, seq, tenant_id,"
                " currency, subtotal, total, line_count, issued_at) values"
                " ('INV-202610-999999', '2026-10', 999999, %s, 'EUR', 1, 1, 1, now())",
                (uuid.uuid4(),),
            )
    dbt_project.build_models("2026-10")
    with pytest.raises(DbtFailedError, match=r"invoice number 1000000 .* six digits \(999,999"):
        dbt_project.issue("2026-10")
    assert rows(database_url, "select count(*) from billing.issued_invoices") == [(1,)]
