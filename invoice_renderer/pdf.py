"""HTML to PDF with WeasyPrint, tuned for many small documents.

What makes it fast (measured, docs/invoices.md): the bundled fonts are small TrueType files
embedded whole (`full_fonts`), so no per-document font subsetting runs; the stylesheets and
the font configuration are parsed once per process; the user-agent stylesheet is cut down to
what the template uses; the layout avoids flex, grid and floats. Output is byte-stable: the
document dates come from the invoice, not the clock.
"""

from __future__ import annotations

from typing import Any

from billing.settings import Issuer, TaxStatement
from invoice_renderer.document import TEMPLATES_DIR, render_html
from invoice_renderer.fetcher import restricted_fetcher
from invoice_renderer.model import DocumentJob
from invoice_renderer.pdf_streams import serialise_streams_once

PDF_VARIANT = "pdf/a-3u"


class PdfRenderer:
    """Renders documents to PDF bytes; create one per process and reuse it."""

    def __init__(self, issuer: Issuer, tax: TaxStatement | None = None) -> None:
        # Imported here so that processes that never render don't pay for WeasyPrint.
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration

        # Everything WeasyPrint fetches goes through this: the template and fonts only.
        self._fetcher = restricted_fetcher()
        user_agent = CSS(filename=str(TEMPLATES_DIR / "user-agent.css"), url_fetcher=self._fetcher)

        class InvoiceHTML(HTML):  # type: ignore[misc]
            """An HTML document styled by the invoice's own user-agent stylesheet."""

            # WeasyPrint's hook for the UA stylesheet (its own tests swap it the same way).
            # Should a release stop calling it, documents keep the full HTML5 one: same
            # pages (tested pixel for pixel), only slower.
            def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
                return [user_agent]

        self._html = InvoiceHTML
        self._issuer = issuer
        self._tax = tax
        self._fonts = FontConfiguration()
        self._stylesheet = CSS(
            filename=str(TEMPLATES_DIR / "invoice.css"),
            font_config=self._fonts,
            url_fetcher=self._fetcher,
        )

    def html(self, job: DocumentJob) -> str:
        """The HTML that `render` turns into a PDF."""
        return render_html(job, self._issuer, self._tax)

    def render(self, job: DocumentJob, *, full_user_agent: bool = False) -> bytes:
        """The PDF of one document (`full_user_agent`: with WeasyPrint's own UA stylesheet)."""
        from weasyprint import HTML

        document_class = HTML if full_user_agent else self._html
        document = document_class(
            string=self.html(job), base_url=str(TEMPLATES_DIR), url_fetcher=self._fetcher
        )
        pdf: bytes = document.write_pdf(
            stylesheets=[self._stylesheet],
            font_config=self._fonts,
            full_fonts=True,
            pdf_variant=PDF_VARIANT,
            finisher=serialise_streams_once,
        )
        return pdf
