"""Voids and replacements (SPEC section 4), through real login roles.

Only Finance may void, in its own name; re-closing the month issues the replacement with
the current catalogues and the next number; voided events never drift into late usage
while a replacement is awaited. A void without replacement writes its events and fee days
off; an empty replacement resolves its void.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from billing.errors import PermissionRefusedError
from billing.periods import Period
from finance.invoices import AlreadyVoidError, list_invoices, void_invoice
from tests.conftest import DatabaseSnapshots, LoginFactory
from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.dbt import DbtProject
from warehouse.transform import DbtFailedError

TENANT = uuid.UUID("a0000000-0000-4000-8000-00000000000a")
OTHER = uuid.UUID("b0000000-0000-4000-8000-00000000000b")
LEAVER = uuid.UUID("c0000000-0000-4000-8000-00000000000c")


def rows(database_url: str, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, parameters).fetchall()


def close_october(database_url: str, dbt_project: DbtProject, _: LoginFactory) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT, tier="starter")
        add_account(conn, OTHER, tier="starter")
        land_events(
            conn,
            [
                Event(TENANT, at("2026-10-05"), "sfr_fr", "outbound", 100),
                Event(TENANT, at("2026-09-20"), "sfr_fr", "outbound", 10),  # late usage
                Event(OTHER, at("2026-10-06"), "sfr_fr", "outbound", 1),
            ],
        )
    dbt_project.close("2026-10")


@pytest.fixture
def closed_october(
    database_url: str, dbt_project: DbtProject, database_snapshots: DatabaseSnapshots
) -> DbtProject:
    """October closed: two tenants, one with late September usage (built once per worker)."""
    assert database_snapshots.restore("closed_october", close_october) == database_url
    return dbt_project


def test_finance_voids_and_the_re_close_issues_a_corrected_replacement(
    database_url: str, closed_october: DbtProject, login: LoginFactory
) -> None:
    finance = login("billing_finance")
    voided = void_invoice(
        finance, "INV-202610-000001", reason="sfr_fr price was wrong", replacement_required=True
    )
    assert voided.voided_by == finance.split("//")[1].split("@")[0]
    assert [
        (i.invoice_number, i.status) for i in list_invoices(database_url, Period(2026, 10))
    ] == [
        ("INV-202610-000001", "void"),
        ("INV-202610-000002", "issued"),
    ]
    with pytest.raises(AlreadyVoidError):
        void_invoice(finance, "INV-202610-000001", reason="again", replacement_required=True)

    # November can't close while October awaits its replacement.
    closed_october.build_models("2026-11")
    with pytest.raises(DbtFailedError, match="blockers"):
        closed_october.issue("2026-11")
    assert rows(database_url, "select blocker, subject from billing.close_blockers") == [
        ("void_awaiting_replacement", "INV-202610-000001")
    ]

    # Finance corrects the catalogue, then re-closes October: only the replacement is issued.
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "update catalogue.pricing_rules set unit_price = 0.050000"
            " where rule_id = 'starter.sfr_fr.outbound.EUR.v1'"
        )
    closed_october.close("2026-10")
    invoices = rows(
        database_url,
        "select invoice_number, tenant_id, status, replaces_invoice_number, subtotal"
        " from billing.invoices order by invoice_number",
    )
    assert [row[:4] for row in invoices] == [
        ("INV-202610-000001", TENANT, "void", None),
        ("INV-202610-000002", OTHER, "issued", None),
        ("INV-202610-000003", TENANT, "issued", "INV-202610-000001"),
    ]
    replacement = rows(
        database_url,
        "select line_type, usage_period, quantity, unit_price, amount from billing.invoice_lines"
        " where invoice_number = 'INV-202610-000003' order by line_number",
    )
    assert replacement == [
        ("subscription", "2026-10", 31, Decimal("48.990000"), Decimal("48.99")),
        ("usage", "2026-10", 100, Decimal("0.050000"), Decimal("5.00")),
        ("late_usage", "2026-09", 10, Decimal("0.050000"), Decimal("0.50")),
    ]
    # The voided invoice is unchanged; every event is on exactly one non-void invoice.
    assert rows(
        database_url,
        "select subtotal from billing.issued_invoices where invoice_number = 'INV-202610-000001'",
    ) == [(Decimal("55.37"),)]
    assert rows(
        database_url,
        "select count(*) from billing.issued_invoice_events e join billing.invoices i"
        " using (invoice_number) where i.status = 'issued'",
    ) == [(3,)]
    # Re-closing again is a no-op; November can close now.
    closed_october.close("2026-10")
    assert len(list_invoices(database_url, Period(2026, 10))) == 3
    closed_october.close("2026-11")
    assert {i.tenant_id for i in list_invoices(database_url, Period(2026, 11))} == {
        TENANT,
        OTHER,
    }
    assert rows(
        database_url,
        "select count(*) from billing.invoice_lines where line_type = 'late_usage'"
        " and invoice_number like 'INV-202611-%%'",
    ) == [(0,)]


def test_a_void_without_replacement_writes_off_its_events_and_fee_days(
    database_url: str, closed_october: DbtProject, login: LoginFactory
) -> None:
    finance = login("billing_finance")
    void_invoice(
        finance, "INV-202610-000002", reason="customer never used it", replacement_required=False
    )
    voided_events = rows(
        database_url,
        "select event_id from billing.issued_invoice_events"
        " where invoice_number = 'INV-202610-000002'",
    )
    closed_october.close("2026-10")
    assert len(list_invoices(database_url, Period(2026, 10))) == 2
    closed_october.close("2026-11")
    # Nothing of it is billed again: no late usage, no fee, on November's invoices.
    assert rows(
        database_url,
        "select count(*) from billing.invoice_lines l join billing.invoices i"
        " using (invoice_number) where i.period = '2026-11' and l.line_type = 'late_usage'",
    ) == [(0,)]
    assert rows(
        database_url,
        "select count(*) from billing.issued_invoice_events e"
        " where e.invoice_number <> 'INV-202610-000002'"
        " and e.event_id in (select event_id from billing.issued_invoice_events"
        " where invoice_number = 'INV-202610-000002')",
    ) == [(0,)]
    # Every event and every fee day of it is recorded as written off by that void.
    assert rows(
        database_url,
        "select event_id, tenant_id, invoice_number, reason from billing.written_off_events",
    ) == [
        (event_id, OTHER, "INV-202610-000002", "customer never used it")
        for (event_id,) in voided_events
    ]
    assert rows(
        database_url,
        "select invoice_number, tenant_id, period, service_start, service_end, fee_days, amount"
        " from billing.written_off_fee_days",
    ) == [
        (
            "INV-202610-000002",
            OTHER,
            "2026-10",
            date(2026, 10, 1),
            date(2026, 10, 31),
            31,
            Decimal("48.99"),
        )
    ]
    # Finance reads the write-offs; a tenant does not.
    with psycopg.connect(finance) as conn:
        assert conn.execute("select count(*) from billing.written_off_events").fetchone() == (1,)
    with (
        psycopg.connect(login("billing_tenant", tenant_id=OTHER)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("select count(*) from billing.written_off_events")


def test_an_empty_replacement_resolves_the_void_and_blocks_no_later_close(
    database_url: str, dbt_project: DbtProject, login: LoginFactory
) -> None:
    # LEAVER's account ends with October. November is closed before October: its October
    # event is billed as late usage on LEAVER's November invoice (late lines only).
    with psycopg.connect(database_url) as conn:
        add_account(conn, LEAVER, tier="starter", deactivated_on=date(2026, 11, 1))
        add_account(conn, OTHER, tier="starter")
        land_events(
            conn,
            [
                Event(LEAVER, at("2026-10-12"), "sfr_fr", "outbound", 4),
                Event(OTHER, at("2026-11-03"), "sfr_fr", "outbound", 1),
            ],
        )
    dbt_project.close("2026-11")
    [(november,)] = rows(
        database_url,
        "select invoice_number from billing.invoices where tenant_id = %s and period = '2026-11'",
        LEAVER,
    )
    assert rows(
        database_url,
        "select line_type, usage_period from billing.invoice_lines where invoice_number = %s",
        november,
    ) == [("late_usage", "2026-10")]
    void_invoice(
        login("billing_finance"),
        november,
        reason="bill October in October",
        replacement_required=True,
    )
    # October is closed next: the voided invoice's event is billed there, in its own month.
    dbt_project.close("2026-10")
    assert rows(
        database_url,
        "select i.period, l.line_type from billing.issued_invoice_events e"
        " join billing.invoice_lines l using (invoice_number, line_number)"
        " join billing.invoices i using (invoice_number)"
        " where i.status = 'issued' and i.tenant_id = %s",
        LEAVER,
    ) == [("2026-10", "usage")]
    # Re-closing November: nothing is left to re-bill, so the replacement is empty. It is not
    # issued; the void is resolved, with the reason, and December closes.
    dbt_project.close("2026-11")
    assert rows(
        database_url,
        "select count(*) from billing.invoices where replaces_invoice_number = %s",
        november,
    ) == [(0,)]
    [(resolution, reason)] = rows(
        database_url,
        "select resolution, reason from billing.void_resolutions where invoice_number = %s",
        november,
    )
    assert resolution == "empty_replacement"
    assert "1 events are billed on other non-void invoices" in reason
    assert rows(
        database_url, "select kind from billing.period_closes where period = '2026-11' order by 1"
    ) == [("close",), ("replacement",)]
    dbt_project.build_models("2026-12")
    assert rows(database_url, "select blocker, subject from billing.close_blockers") == []
    dbt_project.issue("2026-12")
    assert {i.tenant_id for i in list_invoices(database_url, Period(2026, 12))} == {OTHER}
    # Re-closing November again changes nothing.
    dbt_project.close("2026-11")
    assert rows(database_url, "select count(*) from billing.void_resolutions") == [(1,)]


@pytest.mark.parametrize(
    "group", ["billing_loader", "billing_transformer", "billing_auditor", "billing_renderer"]
)
def test_only_finance_may_void(
    database_url: str, closed_october: DbtProject, login: LoginFactory, group: str
) -> None:
    before = rows(database_url, "select * from billing.invoice_voids")
    with pytest.raises(PermissionRefusedError, match="billing_finance"):
        void_invoice(
            login(group), "INV-202610-000001", reason="not mine", replacement_required=True
        )
    assert rows(database_url, "select * from billing.invoice_voids") == before


def test_a_tenant_may_not_void_its_own_invoice(
    database_url: str, closed_october: DbtProject, login: LoginFactory
) -> None:
    tenant_login = login("billing_tenant", tenant_id=TENANT)
    with pytest.raises(PermissionRefusedError):
        void_invoice(
            tenant_login, "INV-202610-000001", reason="too expensive", replacement_required=True
        )
    assert rows(database_url, "select count(*) from billing.invoice_voids") == [(0,)]
