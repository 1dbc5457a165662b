"""`billing invoices list | show | void` on issued invoices, as Finance and others log in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.conftest import LoginFactory
from tests.support.dbt import DbtProject
from tests.support.issued_invoices import insert_issued, sample_invoice


def billing(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.prefix) / "bin" / "billing"), "invoices", *arguments],
        env={**os.environ, "COLUMNS": "200", "BILLING_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_before_the_first_close_list_says_so(database_url: str) -> None:
    done = billing(database_url, "list")
    assert done.returncode == 1
    assert "built by the first close" in " ".join(done.stderr.split())


def test_list_show_and_void_through_the_cli(
    database_url: str, login: LoginFactory, dbt_project: DbtProject
) -> None:
    dbt_project.run("run", "--select", "+invoices", "+invoice_lines", period="2026-10")
    first, second = sample_invoice(1, usage_lines=3, late_lines=0), sample_invoice(2)
    with psycopg.connect(database_url) as conn:
        insert_issued(conn, first)
        insert_issued(conn, second)

    listed = billing(database_url, "list", "--month", "2026-10")
    assert listed.returncode == 0, listed.stderr
    assert first.invoice_number in listed.stdout
    assert second.invoice_number in listed.stdout
    assert f"EUR: 2 issued invoice(s), {first.total + second.total:,.2f} in total" in listed.stdout

    shown = billing(database_url, "show", first.invoice_number)
    assert shown.returncode == 0, shown.stderr
    assert f"total {first.total:,.2f} EUR" in shown.stdout
    assert first.lines[0].description[:30] in shown.stdout

    refused = billing(
        login("billing_renderer"), "void", first.invoice_number, "--reason", "wrong tier"
    )
    assert refused.returncode == 1
    assert "voids are reserved to members of billing_finance" in " ".join(refused.stderr.split())

    finance = login("billing_finance")
    voided = billing(finance, "void", first.invoice_number, "--reason", "wrong tier")
    assert voided.returncode == 0, voided.stderr
    assert f"{first.invoice_number} is void" in voided.stdout
    assert "A replacement is required" in voided.stdout

    again = billing(database_url, "list", "--month", "2026-10")
    assert "void" in again.stdout
    assert f"EUR: 1 issued invoice(s), {second.total:,.2f} in total" in again.stdout
