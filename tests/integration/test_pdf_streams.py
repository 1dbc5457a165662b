"""The finisher that serialises each PDF stream once changes no byte of the PDF (issue 19)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from billing.issued import Void
from billing.settings import load_settings
from invoice_renderer import pdf_streams
from invoice_renderer.document import TEMPLATES_DIR
from invoice_renderer.model import DocumentJob, DocumentKind
from invoice_renderer.pdf import PDF_VARIANT, PdfRenderer
from tests.support.issued_invoices import sample_invoice


def _without_finisher(renderer: PdfRenderer, job: DocumentJob) -> bytes:
    """The PDF as WeasyPrint writes it: the renderer's document class and options, no finisher."""
    document = renderer._html(
        string=renderer.html(job), base_url=str(TEMPLATES_DIR), url_fetcher=renderer._fetcher
    )
    data: bytes = document.write_pdf(
        stylesheets=[renderer._stylesheet],
        font_config=renderer._fonts,
        full_fonts=True,
        pdf_variant=PDF_VARIANT,
    )
    return data


def test_documents_are_byte_identical_to_weasyprints_own_serialisation() -> None:
    renderer = PdfRenderer(load_settings().issuer)
    invoice = sample_invoice(12, usage_lines=14, late_lines=1)
    assert invoice.customer is not None
    name = "Łódź Parcel Services sp. z o.o."  # embeds the extended fonts too
    polish = dataclasses.replace(invoice, customer=dataclasses.replace(invoice.customer, name=name))
    void = Void("Wrong catalogue", "required", datetime(2026, 11, 5, tzinfo=UTC), "finance")
    jobs = [
        DocumentJob(invoice, DocumentKind.INVOICE),
        DocumentJob(polish, DocumentKind.INVOICE),
        DocumentJob(dataclasses.replace(invoice, void=void), DocumentKind.VOID_NOTICE),
        DocumentJob(sample_invoice(8, usage_lines=120, late_lines=3), DocumentKind.INVOICE),
    ]
    pdf_streams._shared.clear()
    for _ in range(2):  # the second time, shared streams come from the cache
        for job in jobs:
            assert renderer.render(job) == _without_finisher(renderer, job), job.label
    # The font files and the colour profile are shared between documents, and only they.
    assert 3 <= len(pdf_streams._shared) <= pdf_streams._SHARED_MAX_ENTRIES
    assert all(
        len(content) >= pdf_streams._SHARED_MIN_BYTES for _, _, content in pdf_streams._shared
    )
