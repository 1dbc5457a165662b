"""Render page 1 of a sample invoice to docs/img/sample-invoice.png (shown in the README).

Usage: python scripts/sample_invoice_png.py [--void]   (--void: docs/img/sample-void-notice.png)
Uses the production renderer (invoice_renderer.pdf) on a made-up invoice (a partial first
month, a mid-month price change, a line that rounds to 0.00, a customer with an address and a
VAT id), then pypdfium2 (a dependency of pdfplumber, in the dev extra) to turn the PDF page
into pixels.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pypdfium2  # noqa: E402

from billing.issued import Void  # noqa: E402
from billing.settings import load_settings  # noqa: E402
from invoice_renderer.model import DocumentJob, DocumentKind  # noqa: E402
from invoice_renderer.pdf import PdfRenderer  # noqa: E402
from tests.support.issued_invoices import sample_invoice, with_document_cases  # noqa: E402


def main() -> None:
    void = "--void" in sys.argv[1:]
    invoice = with_document_cases(sample_invoice(40, usage_lines=14, late_lines=2))
    job = (
        DocumentJob(
            replace(
                invoice,
                void=Void(
                    "Wrong price catalogue applied",
                    "required",
                    datetime(2026, 11, 5, tzinfo=UTC),
                    "finance.lead",
                ),
            ),
            DocumentKind.VOID_NOTICE,
        )
        if void
        else DocumentJob(invoice, DocumentKind.INVOICE)
    )
    pdf = PdfRenderer(load_settings().issuer).render(job)
    target = ROOT / "docs" / "img" / ("sample-void-notice.png" if void else "sample-invoice.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    page = pypdfium2.PdfDocument(pdf)[0]
    page.render(scale=1.5).to_pil().convert("RGB").save(target, optimize=True)
    print(f"{target.relative_to(ROOT)}: page 1 of {job.label}")


if __name__ == "__main__":
    main()
