"""The issued record is complete and frozen (SPEC section 4): the issue step stores the bill-to,
the issuer, terms and due date, minor units and catalogue versions, and documents print them,
never today's ref.accounts or settings."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pypdf
import pytest

from billing.settings import Issuer, Settings, TaxStatement
from finance.reference import import_accounts
from invoice_renderer import render_pending
from tests.conftest import DatabaseSnapshots, LoginFactory
from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.dbt import DbtProject
from tests.support.forge import forged_history
from warehouse.transform import DbtFailedError

TENANT = uuid.UUID("c0000000-0000-4000-8000-00000000000c")
ISSUER = Issuer(
    "Relay Test GmbH", "Testweg 1, 10115 Berlin, Germany", "DE 999 999 999", "ar@t.example"
)
TAX = TaxStatement("Reverse charge", "VAT to be accounted for by the recipient (Article 196)")


def one(database_url: str, query: str, *parameters: Any) -> tuple[Any, ...]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(query, parameters).fetchone()
    assert row is not None
    return tuple(row)


def pdf_text(path: Path) -> str:
    pages = pypdf.PdfReader(io.BytesIO(path.read_bytes())).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


def issue_october(database_url: str, dbt_project: DbtProject, _: LoginFactory) -> None:
    """October closed for one French customer with an address, a VAT id and 45-day terms."""
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT, name="Café Émile SARL")
        conn.execute(
            "update ref.accounts set address = %s, country = 'FR', tax_id = 'FR40123456789',"
            " payment_terms_days = 45 where tenant_id = %s",
            ("8 rue des Lilas\n75011 Paris", TENANT),
        )
        land_events(
            conn,
            [
                Event(TENANT, at("2026-10-05"), "telefonica_es", "outbound", 100),
                Event(TENANT, at("2026-10-06"), "orange_fr", "inbound", 3),
            ],
        )
    dbt_project.build_models("2026-10")
    dbt_project.issue("2026-10", issuer=ISSUER, tax=TAX)


@pytest.fixture
def issued(database_url: str, database_snapshots: DatabaseSnapshots) -> str:
    """The number of October's invoice of issue_october (built once per worker)."""
    assert database_snapshots.restore("issued_october", issue_october) == database_url
    return "INV-202610-000001"


def test_the_issue_step_stores_the_whole_snapshot(database_url: str, issued: str) -> None:
    snapshot = one(
        database_url,
        "select bill_to_name, bill_to_email, bill_to_address, bill_to_country, bill_to_tax_id,"
        " issuer_name, issuer_address, issuer_vat_id, issuer_email, payment_terms_days,"
        " due_date - (issued_at at time zone 'UTC')::date, currency_minor_units, tax_statement,"
        " tax_reason, catalogue_versions from billing.issued_invoices where invoice_number = %s",
        issued,
    )
    assert snapshot[:14] == (
        "Café Émile SARL",
        f"ap-{str(TENANT)[:8]}@example.com",
        "8 rue des Lilas\n75011 Paris",
        "FR",
        "FR40123456789",
        *(ISSUER.name, ISSUER.address, ISSUER.vat_id, ISSUER.email),
        45,
        45,
        2,
        TAX.statement,
        TAX.reason,
    )
    versions = snapshot[14]
    assert sorted(versions) == ["iso_4217_currencies", "operators", "pricing_rules", "tier_fees"]
    assert all(len(checksum) == 32 for checksum in versions.values())
    with psycopg.connect(database_url) as conn:
        names = conn.execute(
            "select operator_id, operator_name, operator_country from billing.issued_invoice_lines"
            " where line_type = 'usage' order by line_number"
        ).fetchall()
    assert names == [("orange_fr", "Orange", "FR"), ("telefonica_es", "Telefónica Movistar", "ES")]


def test_documents_print_the_snapshot_after_the_account_is_renamed(
    database_url: str, issued: str, tmp_path: Path
) -> None:
    # After issue: the account is renamed (by the import, which keeps the history) and the
    # configured issuer and tax wording change. The void notice rendered now, and the invoice,
    # still say what the invoice said when it was issued.
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "tenant_id,name,currency,billing_email,activated_on,deactivated_on\n"
        f"{TENANT},Émile Group Holding,EUR,new@emile.example,2025-01-01,\n"
    )
    with psycopg.connect(database_url) as conn:
        import_accounts(conn, accounts)
        with forged_history(conn):  # Finance's void, by the owner connection
            conn.execute(
                "insert into billing.invoice_voids (invoice_number, tenant_id, reason, replacement)"
                " values (%s, %s, 'wrong price', 'none')",
                (issued, TENANT),
            )
        history = conn.execute(
            "select old_value, new_value from ref.account_changes"
            " where tenant_id = %s and column_name = 'name' order by change_id",
            (TENANT,),
        ).fetchall()
    assert history[-1] == ("Café Émile SARL", "Émile Group Holding")
    settings = Settings(
        state_dir=tmp_path,
        database_url=database_url,
        documents_uri=(tmp_path / "documents").as_uri(),
        issuer_name="Somebody Else Ltd",
        tax_statement="Tax charged",
    )
    report = render_pending(settings, database_url, period="2026-10", workers=1)
    assert (report.stored, report.copies, report.failures) == (2, 2, [])

    folder = tmp_path / "documents" / "invoices" / "2026" / "10"
    for name in (f"{issued}-void.pdf", f"{issued}.pdf"):
        text = pdf_text(folder / name)
        assert "Café Émile SARL" in text
        assert "Émile Group" not in text
        assert "new@emile.example" not in text
        assert "8 rue des Lilas 75011 Paris France" in text
        assert "VAT / tax ID FR40123456789" in text
        assert ISSUER.name in text
        assert "Somebody Else" not in text
        assert "Reverse charge: VAT to be accounted for by the recipient (Article 196)." in text
    # The invoice has its terms; the void notice (not payable) no due date.
    assert "PAYMENT TERMS" in text
    assert "45 days" in text
    assert "DUE DATE" not in pdf_text(folder / f"{issued}-void.pdf")
    copy = json.loads((folder / f"{issued}.json").read_text())
    assert copy["bill_to"]["name"] == "Café Émile SARL"
    assert copy["issuer"]["name"] == ISSUER.name
    issue_day = one(
        database_url,
        "select (issued_at at time zone 'UTC')::date from billing.issued_invoices",
    )[0]
    assert copy["due_date"] == (issue_day + timedelta(days=45)).isoformat()


def test_the_issue_step_refuses_without_the_issuer(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT)
        land_events(conn, [Event(TENANT, at("2026-10-05"), "orange_fr", "outbound", 1)])
    dbt_project.build_models("2026-10")
    with pytest.raises(DbtFailedError, match=r"issue_invoices needs issuer\.name"):
        dbt_project.run("run-operation", "issue_invoices", period="2026-10")
    assert one(database_url, "select count(*) from billing.issued_invoices") == (0,)
