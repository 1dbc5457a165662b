"""HTML to PDF with WeasyPrint, tuned for many small documents.

What makes it fast (measured, docs/invoices.md): the bundled fonts are small TrueType files
embedded whole (`full_fonts`), so no per-document fontTools subsetting runs; the stylesheet
and the font configuration are parsed once per process; the lines table has a fixed layout.
Output is byte-stable: the document dates come from the invoice, not the clock.
"""

from __future__ import annotations

from billing.settings import Issuer
from invoice_renderer.document import TEMPLATES_DIR, render_html
from invoice_renderer.model import DocumentJob

PDF_VARIANT = "pdf/a-3u"


class PdfRenderer:
    """Renders documents to PDF bytes; create one per process and reuse it."""

    def __init__(self, issuer: Issuer) -> None:
        # Imported here so that processes that never render don't pay for WeasyPrint.
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self._issuer = issuer
        self._fonts = FontConfiguration()
        self._stylesheet = CSS(filename=str(TEMPLATES_DIR / "invoice.css"), font_config=self._fonts)

    def html(self, job: DocumentJob) -> str:
        """The HTML that `render` turns into a PDF."""
        return render_html(job, self._issuer)

    def render(self, job: DocumentJob) -> bytes:
        """The PDF of one document."""
        from weasyprint import HTML

        document = HTML(string=self.html(job), base_url=str(TEMPLATES_DIR))
        pdf: bytes = document.write_pdf(
            stylesheets=[self._stylesheet],
            font_config=self._fonts,
            full_fonts=True,
            pdf_variant=PDF_VARIANT,
        )
        return pdf
