"""What the renderer reads and produces: issued invoices, their lines, voids, documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID


class DocumentKind(StrEnum):
    """The two documents an invoice can have (billing.invoice_documents.kind)."""

    INVOICE = "invoice"
    VOID_NOTICE = "void_notice"


@dataclass(frozen=True)
class Customer:
    """The billed account, from ref.accounts."""

    tenant_id: UUID
    name: str
    billing_email: str


@dataclass(frozen=True)
class InvoiceLine:
    """One row of billing.issued_invoice_lines."""

    line_number: int
    line_type: str
    description: str
    usage_period: str
    operator_id: str | None
    direction: str | None
    account_tier: str
    rule_id: str | None
    fee_id: str | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    service_start: date | None
    service_end: date | None
    period_days: int | None


@dataclass(frozen=True)
class Void:
    """Why and when Finance voided an invoice (billing.invoice_voids)."""

    reason: str
    replacement: str
    voided_at: datetime


@dataclass(frozen=True)
class Invoice:
    """One issued invoice with its lines and its customer, as issued (never changed)."""

    invoice_number: str
    period: str
    tenant_id: UUID
    currency: str
    subtotal: Decimal
    total: Decimal
    line_count: int
    issued_at: datetime
    replaces_invoice_number: str | None
    customer: Customer
    lines: tuple[InvoiceLine, ...]


@dataclass(frozen=True)
class DocumentJob:
    """One document to render: an invoice, or the void notice of a voided invoice."""

    invoice: Invoice
    kind: DocumentKind
    void: Void | None = None

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
