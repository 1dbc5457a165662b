"""What the renderer produces: documents of issued invoices (read through billing.issued)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from billing.issued import IssuedInvoice, Void


class DocumentKind(StrEnum):
    """The two documents an invoice can have (billing.invoice_documents.kind)."""

    INVOICE = "invoice"
    VOID_NOTICE = "void_notice"


@dataclass(frozen=True)
class DocumentJob:
    """One document to render: an invoice, or the void notice of a voided invoice."""

    invoice: IssuedInvoice
    kind: DocumentKind

    @property
    def void(self) -> Void | None:
        """The void a void notice announces (the invoice's own); None for an invoice document."""
        return self.invoice.void if self.kind is DocumentKind.VOID_NOTICE else None

    @property
    def key(self) -> str:
        """Storage key: invoices/YYYY/MM/NUMBER.pdf, or NUMBER-void.pdf for a void notice."""
        year, month = self.invoice.period.split("-")
        suffix = "-void" if self.kind is DocumentKind.VOID_NOTICE else ""
        return f"invoices/{year}/{month}/{self.invoice.invoice_number}{suffix}.pdf"

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
