"""`billing verify` (issue 21): an issued month computed again, in a scratch schema, from what
each of its closes recorded it was computed from, and compared with what they issued. It holds
after the catalogue, an account and a tier changed, over late usage and a replacement run,
and fails, naming the line, once an issued row is changed under the break-glass."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import psycopg

from tests.conftest import LoginFactory
from tests.support.billing_data import Event, add_account, add_tier, at, land_events
from tests.support.cli import billing
from tests.support.dbt import DbtProject

LATE = uuid.UUID("b1000000-0000-4000-8000-0000000000b1")
VOIDED = uuid.UUID("b2000000-0000-4000-8000-0000000000b2")
STEADY = uuid.UUID("b3000000-0000-4000-8000-0000000000b3")


def verify(url: str, month: str) -> tuple[int, str, str]:
    done = billing("verify", "--month", month, timeout=600, BILLING_DATABASE_URL=url)
    return done.returncode, done.stdout, done.stderr


def months(url: str, dbt_project: DbtProject, finance: str) -> None:
    """September closed; a late September event; October closed (late usage on it); one
    October invoice voided with a replacement required, and the replacement run."""
    with psycopg.connect(url) as conn:
        add_account(conn, LATE, name="Late Ltd")
        add_account(conn, VOIDED, currency="USD", tier="business", name="Voided Inc")
        add_account(conn, STEADY, activated_on=date(2026, 10, 12), name="Steady SA")
        land_events(conn, [Event(LATE, at("2026-09-10"), segments=2)])
    dbt_project.close("2026-09")
    with psycopg.connect(url) as conn:
        land_events(
            conn,
            [
                Event(LATE, at("2026-09-28"), segments=5),  # landed after September's close
                Event(LATE, at("2026-10-02"), "sfr_fr", "outbound", 3),
                Event(VOIDED, at("2026-10-03"), segments=4),
                Event(STEADY, at("2026-10-20"), "orange_fr", "inbound", 6),
            ],
        )
    dbt_project.close("2026-10")
    with psycopg.connect(url) as conn:
        [(number,)] = conn.execute(
            "select invoice_number from billing.issued_invoices where tenant_id = %s"
            " and period = '2026-10'",
            (VOIDED,),
        ).fetchall()
        land_events(conn, [Event(VOIDED, at("2026-10-30"), segments=1)])
    with psycopg.connect(finance) as conn:  # voids are Finance's
        conn.execute(
            "insert into billing.invoice_voids (invoice_number, tenant_id, reason, replacement)"
            " values (%s, %s, 'Wrong tier applied', 'required')",
            (number, VOIDED),
        )
    dbt_project.close("2026-10")  # the replacement run


def change_everything_verify_reads_from_its_records(url: str) -> None:
    """Today's catalogue, accounts and tiers differ from what the closes used."""
    with psycopg.connect(url) as conn:
        conn.execute("update catalogue.pricing_rules set unit_price = unit_price * 2")
        conn.execute("update catalogue.tier_fees set monthly_fee = monthly_fee + 1")
        conn.execute(
            "update ref.accounts set activated_on = '2026-10-01', name = 'Renamed'"
            " where tenant_id = %s",
            (STEADY,),
        )
        add_tier(conn, LATE, "enterprise", date(2026, 9, 1))


def test_issued_months_verify_after_the_inputs_change_and_fail_on_a_changed_line(
    database_url: str, dbt_project: DbtProject, login: LoginFactory
) -> None:
    months(database_url, dbt_project, login("billing_finance"))
    with psycopg.connect(database_url) as conn:
        runs = conn.execute(
            "select period, kind, (select count(*) from billing.close_inputs as inputs"
            " where inputs.close_id = closes.close_id) from billing.period_closes as closes"
            " order by close_id"
        ).fetchall()
        late_lines = conn.execute(
            "select count(*) from billing.issued_invoice_lines where line_type = 'late_usage'"
        ).fetchone()
    assert runs == [("2026-09", "close", 7), ("2026-10", "close", 7),
                    ("2026-10", "replacement", 7)]  # fmt: skip
    assert late_lines == (1,)
    change_everything_verify_reads_from_its_records(database_url)

    code, out, err = verify(database_url, "2026-10")
    assert code == 0, (out, err)
    assert "2026-10 verifies" in out
    assert out.count(": identical") == 2  # the close and the replacement run
    # The close: September's late event and three October ones; the replacement: the voided
    # invoice's event (the one landed after the close waits for November, as late usage).
    assert "close 2 of " in out
    assert "3 invoices, 7 lines, 4 events: identical" in out
    assert "replacement 3 of " in out
    assert "1 invoices, 2 lines, 1 events: identical" in out

    with psycopg.connect(database_url) as conn:  # a superuser, through the break-glass
        [(number, line, amount)] = conn.execute(
            "select invoice_number, line_number, amount from billing.issued_invoice_lines"
            " where tenant_id = %s and line_type = 'late_usage'",
            (LATE,),
        ).fetchall()
        conn.execute(
            "select billing.break_glass('TEST-1: tamper with an issued line',"
            " array['billing.issued_invoice_lines'])"
        )
        conn.execute(
            "update billing.issued_invoice_lines set amount = amount + 0.01"
            " where invoice_number = %s and line_number = %s",
            (number, line),
        )
    code, out, err = verify(database_url, "2026-10")
    assert code == 1, (out, err)
    tampered = Decimal(amount) + Decimal("0.01")
    assert f"{number} line {line}: amount issued {tampered}, recomputed {amount}" in out
    assert "2026-10 does not verify: 1 difference (above)" in err
    assert "Traceback" not in err


def test_a_month_not_closed_is_refused(database_url: str, dbt_project: DbtProject) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, STEADY)
        land_events(conn, [Event(STEADY, at("2026-10-20"))])
    code, out, err = verify(database_url, "2026-10")
    assert code == 2
    assert out == ""
    assert "2026-10 is not closed: only an issued month can be verified" in err
