"""Issued invoices become PDFs, stored once, recorded with their outbox event (issue 6).

Real PostgreSQL (as billing_renderer), real WeasyPrint, files on disk. Invoices are few and
small except where a test needs size: PDFs cost ~0.1 s each.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pypdf
import pytest

from billing.contracts import INVOICE_GENERATED_V1, reference_validator
from billing.issued import IssuedInvoice, Void
from billing.settings import Settings, load_settings
from invoice_renderer import copies, formatting, render_pending
from invoice_renderer.model import DocumentJob, DocumentKind, StoredDocument
from invoice_renderer.pdf import PdfRenderer
from invoice_renderer.storage import FileStore
from tests.support.issued_invoices import (
    insert_issued,
    insert_void,
    sample_invoice,
    with_document_cases,
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        state_dir=tmp_path,
        database_url=database_url,
        nats_url=None,
        documents_uri=(tmp_path / "documents").as_uri(),
    )


def issue(database_url: str, *invoices: IssuedInvoice) -> None:
    with psycopg.connect(database_url) as conn:
        for invoice in invoices:
            insert_issued(conn, invoice)


def pdf_text(data: bytes) -> list[str]:
    """The text of each page, every run of white space (line breaks too) as one space."""
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    return [" ".join(page.extract_text().split()) for page in pages]


def documents(database_url: str) -> dict[tuple[str, str], dict[str, Any]]:
    with (
        psycopg.connect(database_url) as conn,
        conn.cursor(row_factory=psycopg.rows.dict_row) as cur,
    ):
        rows = cur.execute("select * from billing.invoice_documents").fetchall()
    return {(row["invoice_number"], row["kind"]): row for row in rows}


def outbox(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn:
        return [row[0] for row in conn.execute("select payload from billing.invoice_outbox")]


def path_of(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


def test_each_issued_invoice_gets_one_pdf_with_its_numbers(
    settings: Settings, database_url: str
) -> None:
    regular = sample_invoice(1, usage_lines=3, late_lines=1)
    other = sample_invoice(2, usage_lines=2, late_lines=0, currency="GBP")
    replacement = sample_invoice(3, usage_lines=1, late_lines=0, replaces=regular.invoice_number)
    issue(database_url, regular, other)
    with psycopg.connect(database_url) as conn:
        insert_void(conn, regular)
        insert_issued(conn, replacement)

    report = render_pending(settings, database_url, period="2026-10", workers=1)

    # Three invoices and the void notice of the voided one.
    assert (report.pending, report.stored, report.events, report.failures) == (4, 4, 3, [])
    stored = documents(database_url)
    assert report.copies == 6  # a JSON and a CSV beside each invoice PDF
    assert set(stored) == {
        *(
            (invoice.invoice_number, kind)
            for invoice in (regular, other, replacement)
            for kind in ("invoice", "invoice_json", "invoice_csv")
        ),
        (regular.invoice_number, "void_notice"),
    }
    for invoice in (regular, other, replacement):
        row = stored[(invoice.invoice_number, "invoice")]
        assert row["uri"].endswith(f"/documents/invoices/2026/10/{invoice.invoice_number}.pdf")
        data = path_of(row["uri"]).read_bytes()
        assert (row["sha256"], row["size_bytes"]) == (hashlib.sha256(data).hexdigest(), len(data))
        assert row["tenant_id"] == invoice.tenant_id
        text = "\n".join(pdf_text(data))
        assert invoice.invoice_number in text
        assert invoice.customer.name in text
        assert "October 2026" in text
        assert "Tax not charged: amounts are net" in text
        for line in invoice.lines:
            assert formatting.amount(line.amount) in text, line
        assert f"{invoice.currency} {formatting.amount(invoice.total)}" in text
    assert "Replaces INV-202610-000001" in "\n".join(
        pdf_text(path_of(stored[(replacement.invoice_number, "invoice")]["uri"]).read_bytes())
    )

    # One event per invoice document (none for the void notice), valid and pointing at it.
    events = {event["invoice_number"]: event for event in outbox(database_url)}
    assert set(events) == {regular.invoice_number, other.invoice_number, replacement.invoice_number}
    validator = reference_validator(INVOICE_GENERATED_V1)
    for number, event in events.items():
        assert list(validator.iter_errors(event)) == []
        assert event["document_uri"] == stored[(number, "invoice")]["uri"]
        assert event["document_sha256"] == stored[(number, "invoice")]["sha256"]
    assert events[other.invoice_number]["total"] == str(other.total)
    assert events[replacement.invoice_number]["replaces_invoice_number"] == regular.invoice_number

    # Nothing is pending any more.
    again = render_pending(settings, database_url, workers=1)
    assert (again.pending, again.recorded) == (0, 0)


def test_pdf_amounts_are_exactly_the_stored_ones(settings: Settings, database_url: str) -> None:
    """Amounts are read back from billing.issued_invoice_lines, not from the test's objects."""
    issue(database_url, sample_invoice(5, usage_lines=4, late_lines=2))
    render_pending(settings, database_url, workers=1)
    with psycopg.connect(database_url) as conn:
        amounts = [
            row[0] for row in conn.execute("select amount from billing.issued_invoice_lines")
        ]
        (total,) = conn.execute("select total from billing.issued_invoices").fetchone() or ()
        (uri,) = (
            conn.execute(
                "select uri from billing.invoice_documents where kind = 'invoice'"
            ).fetchone()
            or ()
        )
    text = "\n".join(pdf_text(path_of(uri).read_bytes()))
    printed = {Decimal(word.replace(",", "")) for word in text.split() if _is_amount(word)}
    assert set(amounts) <= printed
    assert total in printed


def _is_amount(word: str) -> bool:
    head, _, cents = word.replace(",", "").partition(".")
    return head.isdigit() and len(cents) == 2 and cents.isdigit()


def test_long_invoice_repeats_the_table_header_on_every_page() -> None:
    invoice = sample_invoice(8, usage_lines=280, late_lines=19)
    assert invoice.line_count == 300
    data = PdfRenderer(load_settings().issuer).render(DocumentJob(invoice, DocumentKind.INVOICE))
    pages = pdf_text(data)
    assert len(pages) >= 5
    for number, text in enumerate(pages, start=1):
        assert "DESCRIPTION" in text
        assert "UNIT PRICE" in text
        assert "AMOUNT (EUR)" in text
        assert f"Page {number} of {len(pages)}" in text
        if number > 1:
            assert f"Invoice {invoice.invoice_number}" in text
    assert f"EUR {formatting.amount(invoice.total)}" in pages[-1]
    assert "Late usage from September 2026" in "\n".join(pages)


def test_a_void_gets_a_void_notice_and_the_original_stays(
    settings: Settings, database_url: str
) -> None:
    invoice = sample_invoice(4, usage_lines=2, late_lines=0)
    issue(database_url, invoice)
    render_pending(settings, database_url, workers=1)
    original = documents(database_url)[(invoice.invoice_number, "invoice")]
    original_bytes = path_of(original["uri"]).read_bytes()
    with psycopg.connect(database_url) as conn:
        insert_void(conn, invoice, reason="Catalogue error on orange_fr", replacement="none")

    report = render_pending(settings, database_url, workers=1)

    assert (report.stored, report.events) == (1, 0)
    stored = documents(database_url)
    assert stored[(invoice.invoice_number, "invoice")] == original
    assert path_of(original["uri"]).read_bytes() == original_bytes
    notice = stored[(invoice.invoice_number, "void_notice")]
    assert notice["uri"].endswith(f"/invoices/2026/10/{invoice.invoice_number}-void.pdf")
    text = "\n".join(pdf_text(path_of(notice["uri"]).read_bytes()))
    assert "VOID" in text
    assert "Catalogue error on orange_fr" in text
    assert "No replacement invoice will be issued" in text
    assert invoice.invoice_number in text
    assert len(outbox(database_url)) == 1


def test_an_existing_document_is_never_overwritten(settings: Settings, database_url: str) -> None:
    stray, fine = sample_invoice(6, usage_lines=1, late_lines=0), sample_invoice(7, usage_lines=1)
    issue(database_url, stray, fine)
    squatter = (
        Path(settings.state_dir) / "documents/invoices/2026/10" / f"{stray.invoice_number}.pdf"
    )
    squatter.parent.mkdir(parents=True)
    squatter.write_bytes(b"%PDF-1.7 something else")

    report = render_pending(settings, database_url, workers=1)

    assert report.stored == 1
    assert [failure.document for failure in report.failures] == [stray.invoice_number]
    assert "never overwritten" in report.failures[0].reason
    assert squatter.read_bytes() == b"%PDF-1.7 something else"
    assert set(documents(database_url)) == {
        (fine.invoice_number, kind) for kind in ("invoice", "invoice_json", "invoice_csv")
    }
    assert [event["invoice_number"] for event in outbox(database_url)] == [fine.invoice_number]


def test_file_store_writes_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    first = store.put("invoices/2026/10/INV-202610-000001.pdf", b"one")
    again = store.put("invoices/2026/10/INV-202610-000001.pdf", b"one")
    assert (first.created, again.created) == (True, False)
    assert first.sha256 == again.sha256 == hashlib.sha256(b"one").hexdigest()
    with pytest.raises(Exception, match="never overwritten"):
        store.put("invoices/2026/10/INV-202610-000001.pdf", b"two")
    assert store.get("invoices/2026/10/INV-202610-000001.pdf") == b"one"
    assert sorted(path.name for path in tmp_path.rglob("*")) == [
        "10",
        "2026",
        "INV-202610-000001.pdf",
        "invoices",
    ]


def test_names_in_other_scripts_use_only_the_bundled_fonts() -> None:
    """Greek, Cyrillic and Polish names print with the bundled fonts, spaces included."""
    from fontTools.ttLib import TTFont

    from invoice_renderer.document import TEMPLATES_DIR

    name = "Ελληνική Εταιρεία Α.Ε. — Подразделение по работе (Europe), Łódź"
    base = sample_invoice(10, usage_lines=1, late_lines=0)
    invoice = dataclasses.replace(base, customer=dataclasses.replace(base.customer, name=name))
    data = PdfRenderer(load_settings().issuer).render(DocumentJob(invoice, DocumentKind.INVOICE))

    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts = {
        str(font.get_object()["/BaseFont"]).split("+")[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts <= {
        "Inter-Invoice",
        "Inter-Invoice-Semi-Bold",
        "Inter-Invoice-Extended",
        "Inter-Invoice-Extended-Semi-Bold",
    }
    assert name in pdf_text(data)[0]
    # Pango shapes a Greek run, its spaces and punctuation included, with the extended font.
    fonts_dir = TEMPLATES_DIR.parent / "fonts"
    for weight in ("Regular", "SemiBold"):
        core = set(TTFont(fonts_dir / f"InterInvoice-{weight}.ttf").getBestCmap())
        extended = set(TTFont(fonts_dir / f"InterInvoiceExtended-{weight}.ttf").getBestCmap())
        assert core <= extended
        assert set(map(ord, name)) <= extended


def test_the_trimmed_user_agent_stylesheet_changes_no_pixel() -> None:
    """pdf.py swaps WeasyPrint's HTML5 UA stylesheet for a small one (speed): same pages."""
    import pypdfium2
    from PIL import ImageChops

    invoice = sample_invoice(9, usage_lines=3, late_lines=1, replaces="INV-202610-000002")
    renderer = PdfRenderer(load_settings().issuer)
    void = Void("Wrong catalogue", "required", datetime(2026, 11, 5, tzinfo=UTC), "finance")
    for job in (
        DocumentJob(invoice, DocumentKind.INVOICE),
        DocumentJob(dataclasses.replace(invoice, void=void), DocumentKind.VOID_NOTICE),
    ):
        ours = pypdfium2.PdfDocument(renderer.render(job))
        full = pypdfium2.PdfDocument(renderer.render(job, full_user_agent=True))
        assert len(ours) == len(full) == 1
        pixels = [page.render(scale=2).to_pil().convert("RGB") for page in (ours[0], full[0])]
        assert ImageChops.difference(*pixels).getbbox() is None, job.label


def test_worker_processes_render_the_same_bytes(settings: Settings, database_url: str) -> None:
    """The pool path (2 spawned workers) and this process produce identical PDFs."""
    invoices = [sample_invoice(seq, usage_lines=2, late_lines=0) for seq in (11, 12, 13)]
    issue(database_url, *invoices)
    progress: list[tuple[int, int]] = []

    report = render_pending(
        settings, database_url, workers=2, on_progress=lambda *p: progress.append(p)
    )

    assert (report.stored, report.workers, report.failures) == (3, 2, [])
    assert progress[-1] == (3, 3)
    here = PdfRenderer(settings.issuer)
    stored = documents(database_url)
    for invoice in invoices:
        expected = hashlib.sha256(here.render(DocumentJob(invoice, DocumentKind.INVOICE)))
        assert stored[(invoice.invoice_number, "invoice")]["sha256"] == expected.hexdigest()


def test_the_document_reads_in_the_customers_words(settings: Settings, database_url: str) -> None:
    """quantity × unit price = amount on every line; the month's fraction, segments, operator
    names, the dates of a mid-month price change, a zero line explained, one date format, no
    internal ids; the JSON and CSV copies beside the PDF say the same."""
    invoice = with_document_cases(sample_invoice(40, usage_lines=3, late_lines=1))
    subscription = invoice.lines[0]
    assert subscription.period_days
    assert subscription.quantity < subscription.period_days
    issue(database_url, invoice)

    report = render_pending(settings, database_url, workers=1)

    assert (report.stored, report.copies, report.failures) == (1, 2, [])
    stored = documents(database_url)
    pdf = path_of(stored[(invoice.invoice_number, "invoice")]["uri"]).read_bytes()
    text = " ".join(pdf_text(pdf))
    days, month = int(subscription.quantity), subscription.period_days
    assert f"{days}/{month} month" in text
    assert (
        f"{days}/{month} of the monthly fee {formatting.unit_price(subscription.unit_price)}"
        in text
    )
    assert " days ×" not in text
    assert f"{days} days" not in text.replace(f"{days} of", "")
    assert "Outbound segments via AT&T, United States" in text
    assert "Inbound segments via AT&T, United States" in text
    assert (
        "Usage of 1 October 2026 to 14 October 2026, at the price in force on those dates" in text
    )
    assert "Usage of 15 October 2026 to 31 October 2026" in text
    assert "Inbound segments via Verizon, United States" in text
    assert "3 × 0.001 = 0.003, which rounds to 0.00" in text
    for line in invoice.lines:
        assert (line.rule_id or line.fee_id or "") not in text
        assert (line.operator_id or "att_us") not in text
    assert "(rule" not in text
    assert "essages" not in text
    assert "2026-" not in text  # one date format: "1 November 2026"
    assert "DUE DATE" in text
    assert "1 December 2026" in text
    assert "Please pay by 1 December 2026 (30 days from the issue date)." in text
    assert "VAT / tax ID FR40123456789" in text

    json_row = stored[(invoice.invoice_number, "invoice_json")]
    record = json.loads(path_of(json_row["uri"]).read_bytes())
    assert json_row["content_type"] == "application/json"
    assert record["invoice_number"] == invoice.invoice_number
    assert record["document_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert (record["subtotal"], record["total"]) == (str(invoice.subtotal), str(invoice.total))
    assert (record["due_date"], record["payment_terms_days"]) == ("2026-12-01", 30)
    assert [line["amount"] for line in record["lines"]] == [
        str(each.amount) for each in invoice.lines
    ]
    assert record["lines"][1]["service_end"] == "2026-10-14"
    assert all(isinstance(line["amount"], str) for line in record["lines"])
    csv_row = stored[(invoice.invoice_number, "invoice_csv")]
    lines = list(csv.DictReader(io.StringIO(path_of(csv_row["uri"]).read_text())))
    assert len(lines) == invoice.line_count
    assert sum(Decimal(line["amount"]) for line in lines) == invoice.subtotal
    assert [line["rule_id"] or line["fee_id"] for line in lines] == [
        line.rule_id or line.fee_id for line in invoice.lines
    ]
    # Stable bytes: the same issued invoice gives the same copies (read back or not).
    again = copies.invoice_json(
        invoice, StoredDocument(record["document_uri"], record["document_sha256"], 1, False)
    )
    assert again == path_of(json_row["uri"]).read_bytes()


def _in_currency(invoice: IssuedInvoice, currency: str, places: int) -> IssuedInvoice:
    step = Decimal(1).scaleb(-places)
    lines = tuple(
        dataclasses.replace(line, amount=(line.quantity * line.unit_price).quantize(step))
        if line.line_type != "subscription"
        else dataclasses.replace(line, amount=line.amount.quantize(step))
        for line in invoice.lines
    )
    subtotal = sum((line.amount for line in lines), Decimal(0))
    return dataclasses.replace(
        invoice,
        currency=currency,
        minor_units=places,
        lines=lines,
        subtotal=subtotal,
        total=subtotal,
    )


@pytest.mark.parametrize(("currency", "places"), [("JPY", 0), ("BHD", 3)])
def test_each_currency_prints_with_its_own_decimals(currency: str, places: int) -> None:
    invoice = _in_currency(sample_invoice(21, usage_lines=3, late_lines=0), currency, places)
    text = " ".join(
        pdf_text(
            PdfRenderer(load_settings().issuer).render(DocumentJob(invoice, DocumentKind.INVOICE))
        )
    )
    total = f"{invoice.total:,.{places}f}"
    assert f"{currency} {total}" in text
    for line in invoice.lines:
        assert f"{line.amount:,.{places}f}" in text
    if places == 0:
        assert f"{currency} {total}.00" not in text
    record = copies.invoice_record(invoice, StoredDocument("file:///x.pdf", "0" * 64, 1, False))
    assert record["total"] == f"{invoice.total:.{places}f}"
    assert record["currency_minor_units"] == places
