"""What the renderer produces: documents of issued invoices (read through billing.issued)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from billing.issued import IssuedInvoice, Void


class DocumentKind(StrEnum):
    """The documents an invoice can have (billing.invoice_documents.kind)."""

    INVOICE = "invoice"
    VOID_NOTICE = "void_notice"
    # Beside the invoice PDF, the same invoice machine-readable (invoice_renderer.copies).
    INVOICE_JSON = "invoice_json"
    INVOICE_CSV = "invoice_csv"

    @property
    def extension(self) -> str:
        return {"invoice_json": "json", "invoice_csv": "csv"}.get(self.value, "pdf")

    @property
    def content_type(self) -> str:
        return {
            "invoice_json": "application/json",
            "invoice_csv": "text/csv; charset=utf-8",
        }.get(self.value, "application/pdf")


# What an invoice job stores: its PDF first, then the copies (they name the PDF).
INVOICE_DOCUMENTS = (DocumentKind.INVOICE, DocumentKind.INVOICE_JSON, DocumentKind.INVOICE_CSV)


@dataclass(frozen=True)
class DocumentJob:
    """One document to render: an invoice (its PDF and copies), or the void notice of a void.

    `stored_pdf` is the invoice's PDF when it was recorded by an earlier run: then only the
    missing copies are made (a PDF is never rendered twice).
    """

    invoice: IssuedInvoice
    kind: DocumentKind
    stored_pdf: StoredDocument | None = None

    @property
    def void(self) -> Void | None:
        """The void a void notice announces (the invoice's own); None for an invoice document."""
        return self.invoice.void if self.kind is DocumentKind.VOID_NOTICE else None

    @property
    def key(self) -> str:
        """Storage key: invoices/YYYY/MM/NUMBER.pdf, or NUMBER-void.pdf for a void notice."""
        return self.key_of(self.kind)

    def key_of(self, kind: DocumentKind) -> str:
        """Storage key of one of the invoice's documents: NUMBER.pdf, -void.pdf, .json, .csv."""
        year, month = self.invoice.period.split("-")
        suffix = "-void" if kind is DocumentKind.VOID_NOTICE else ""
        return f"invoices/{year}/{month}/{self.invoice.invoice_number}{suffix}.{kind.extension}"

    @property
    def label(self) -> str:
        """How reports name this document."""
        if self.kind is DocumentKind.VOID_NOTICE:
            return f"{self.invoice.invoice_number} (void notice)"
        return self.invoice.invoice_number


@dataclass(frozen=True)
class StoredDocument:
    """Where a document was stored and what it is; `created` is False if it was already there."""

    uri: str
    sha256: str
    size_bytes: int
    created: bool
