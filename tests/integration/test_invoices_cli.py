"""`billing invoices list | show | void` on issued invoices, as Finance and others log in.

Run as the real command on an 80-column terminal (COLUMNS=80), as in a pipe: nothing that
identifies something (invoice numbers, rule ids) is cut, money is never in scientific notation.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import psycopg

from billing.money import format_amount
from tests.conftest import LoginFactory
from tests.support.cli import billing, one_line
from tests.support.issued_invoices import insert_issued, sample_invoice


def invoices(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return billing("invoices", *arguments, BILLING_DATABASE_URL=database_url)


def assert_fits_80_columns(output: str) -> None:
    too_wide = [line for line in output.splitlines() if len(line) > 80]
    assert not too_wide, too_wide


def test_list_before_the_first_close_says_there_are_none(database_url: str) -> None:
    done = invoices(database_url, "list", "--month", "2026-10")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no issued invoices of 2026-10"


def test_list_show_and_void_through_the_cli(database_url: str, login: LoginFactory) -> None:
    first, second = sample_invoice(1, usage_lines=3, late_lines=0), sample_invoice(2)
    with psycopg.connect(database_url) as conn:
        insert_issued(conn, first)
        insert_issued(conn, second)

    listed = invoices(database_url, "list", "--month", "2026-10")
    assert listed.returncode == 0, listed.stderr
    assert_fits_80_columns(listed.stdout)
    for invoice in (first, second):
        assert invoice.invoice_number in listed.stdout
        assert invoice.customer is not None
        assert str(invoice.tenant_id)[:8] in listed.stdout  # a short id beside the name
        assert invoice.customer.name.split()[0] in listed.stdout
    total = format_amount(first.total + second.total)
    assert f"EUR: 2 issued invoice(s), {total} in total" in listed.stdout

    shown = invoices(database_url, "show", second.invoice_number)
    assert shown.returncode == 0, shown.stderr
    assert_fits_80_columns(shown.stdout)
    assert f"total {format_amount(second.total)} EUR" in shown.stdout
    assert "E+" not in shown.stdout  # 490.00, not 4.9E+2
    assert "490.00" in shown.stdout  # the enterprise fee, as in the catalogue
    assert "segments via" in shown.stdout  # worded as on the customer's PDF
    assert "(tax not charged)" in shown.stdout
    assert "due       2026-12-01 (30 days)" in shown.stdout
    for line in second.lines:
        assert line.rule_id is None or line.rule_id not in shown.stdout
        if line.line_type == "usage":  # the catalogue's six places
            assert f"{line.unit_price:f}".rstrip("0").rstrip(".") in shown.stdout
    # Finance's view: the issued descriptions with their rule and fee ids, whole.
    detail = invoices(database_url, "show", second.invoice_number, "--detail")
    assert detail.returncode == 0, detail.stderr
    assert_fits_80_columns(detail.stdout)
    words = set(detail.stdout.replace("[", " ").replace("]", " ").split())
    for line in second.lines:
        if line.rule_id:  # never split across lines, never cut
            assert line.rule_id in words, line.rule_id
        if line.fee_id:
            assert line.fee_id in words, line.fee_id
    assert "catalogue pricing_rules 000000000000, tier_fees 111111111111" in detail.stdout

    refused = invoices(
        login("billing_renderer"), "void", first.invoice_number, "--reason", "wrong tier"
    )
    assert refused.returncode == 2
    assert "voids are reserved to members of billing_finance" in one_line(refused.stderr)

    finance = login("billing_finance")
    voided = invoices(finance, "void", first.invoice_number, "--reason", "wrong tier")
    assert voided.returncode == 0, voided.stderr
    assert f"{first.invoice_number} is void" in voided.stdout
    assert "A replacement is required" in voided.stdout
    assert "billing close --month 2026-10" in " ".join(voided.stdout.split())

    again = invoices(database_url, "list", "--month", "2026-10")
    assert "void" in again.stdout
    assert f"EUR: 1 issued invoice(s), {format_amount(second.total)} in total" in again.stdout


def test_list_and_show_for_scripts_csv_and_json(database_url: str) -> None:
    first = sample_invoice(1, usage_lines=2, late_lines=0)
    replacement = sample_invoice(
        3, usage_lines=1, late_lines=0, replaces=first.invoice_number, tenant_index=1
    )
    with psycopg.connect(database_url) as conn:
        insert_issued(conn, first)
        insert_issued(conn, replacement)

    table = invoices(database_url, "list")
    assert f"{replacement.invoice_number} replaces {first.invoice_number}" in table.stdout
    assert "2026-10" in table.stdout  # the period column, without --month

    as_csv = invoices(database_url, "list", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [row["invoice_number"] for row in rows] == [
        first.invoice_number,
        replacement.invoice_number,
    ]
    assert rows[0]["tenant_id"] == str(first.tenant_id)
    assert Decimal(rows[0]["total"]) == first.total
    assert rows[1]["replaces_invoice_number"] == first.invoice_number

    as_json = json.loads(invoices(database_url, "list", "--format", "json").stdout)
    assert as_json[0]["total"] == f"{first.total:.2f}"
    assert as_json[0]["status"] == "issued"

    [shown] = json.loads(
        invoices(database_url, "show", first.invoice_number, "--format", "json").stdout
    )
    assert [line["rule_id"] for line in shown["lines"]] == [line.rule_id for line in first.lines]
    assert [Decimal(line["unit_price"]) for line in shown["lines"]] == [
        line.unit_price for line in first.lines
    ]

    lines_csv = invoices(database_url, "show", first.invoice_number, "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(lines_csv.stdout)))) == len(first.lines)


def test_show_refuses_what_is_not_an_invoice(database_url: str) -> None:
    missing = invoices(database_url, "show", "INV-202610-999999")
    assert missing.returncode == 2
    assert "no issued invoice INV-202610-999999" in one_line(missing.stderr)
    malformed = invoices(database_url, "show", "42")
    assert malformed.returncode == 2
    assert "'42' is not an invoice number: use INV-YYYYMM-NNNNNN" in one_line(malformed.stderr)


def test_render_and_publish_through_the_cli(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    invoices_issued = [sample_invoice(seq, usage_lines=2, late_lines=0) for seq in (1, 2)]
    with psycopg.connect(database_url) as conn:
        for invoice in invoices_issued:
            insert_issued(conn, invoice)
    env = {
        "BILLING_DATABASE_URL": database_url,
        "BILLING_NATS_URL": nats_url,
        "BILLING_STATE_DIR": str(tmp_path / "state"),
        "BILLING_DOCUMENTS_URI": (tmp_path / "documents").as_uri(),
    }

    rendered = billing("invoices", "render", "--month", "2026-10", "--workers", "1", **env)
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stdout.startswith(
        "2 document(s) recorded (2 stored, 0 found already stored), 2 event(s) queued"
    )
    assert sorted(p.name for p in (tmp_path / "documents").rglob("*.pdf")) == [
        f"{invoice.invoice_number}.pdf" for invoice in invoices_issued
    ]
    again = billing("invoices", "render", **env)
    assert again.stdout.strip() == (
        "nothing to render: every issued invoice and void has its document"
    )

    published = billing("invoices", "publish", **env)
    assert published.returncode == 0, published.stderr
    assert published.stdout.strip() == (
        "2 event(s) published: 2 sent (0 dropped by JetStream as duplicates), 0 already in "
        "the stream from an interrupted run"
    )
    assert billing("invoices", "publish", **env).stdout.strip() == (
        "nothing to publish: the outbox is empty"
    )


def test_a_render_that_cannot_store_fails_with_one_line(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url) as conn:
        insert_issued(conn, sample_invoice(1, usage_lines=1, late_lines=0))
    done = billing(
        "invoices",
        "render",
        BILLING_DATABASE_URL=database_url,
        BILLING_STATE_DIR=str(tmp_path),
        BILLING_DOCUMENTS_URI="s3://billing-documents/invoices",  # no KMS key configured
    )
    assert done.returncode == 2
    assert "BILLING_S3_KMS_KEY_ID is not set" in one_line(done.stderr)


def test_show_on_a_narrow_terminal_and_a_void_without_replacement(
    database_url: str, login: LoginFactory
) -> None:
    invoice = sample_invoice(2, usage_lines=4, late_lines=1)
    with psycopg.connect(database_url) as conn:
        insert_issued(conn, invoice)
    finance = login("billing_finance")
    voided = invoices(
        finance, "void", invoice.invoice_number, "--reason", "duplicate", "--no-replacement"
    )
    assert voided.returncode == 0, voided.stderr
    assert "No replacement will be issued." in voided.stdout

    narrow = billing(
        "invoices",
        "show",
        invoice.invoice_number,
        "--detail",
        columns=50,
        BILLING_DATABASE_URL=database_url,
    )
    assert narrow.returncode == 0, narrow.stderr
    words = set(narrow.stdout.replace("[", " ").replace("]", " ").split())
    for line in invoice.lines:
        if line.rule_id:
            assert line.rule_id in words, line.rule_id  # whole, even on 50 columns
    assert "1 month × 490.00 = 490.00" in narrow.stdout  # one block per line: quantity × price
    assert "void      " in narrow.stdout
    assert "(replacement none): duplicate" in narrow.stdout
