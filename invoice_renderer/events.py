"""billing.invoice.generated.v1: the event that announces a stored invoice document (SPEC §1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from billing.contracts import INVOICE_GENERATED_V1, check_invoice_generated
from billing.issued import IssuedInvoice
from invoice_renderer.formatting import cents
from invoice_renderer.model import StoredDocument


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def invoice_generated(
    invoice: IssuedInvoice, stored: StoredDocument, event_id: UUID, occurred_at: datetime
) -> dict[str, Any]:
    """The event payload, checked against the contract schema (raises ContractViolation)."""
    event: dict[str, Any] = {
        "event_id": str(event_id),
        "event_type": INVOICE_GENERATED_V1,
        "occurred_at": _instant(occurred_at),
        "invoice_number": invoice.invoice_number,
        "tenant_id": str(invoice.tenant_id),
        "period": invoice.period,
        "currency": invoice.currency,
        "subtotal": cents(invoice.subtotal, invoice.currency),
        "total": cents(invoice.total, invoice.currency),
        "line_count": invoice.line_count,
        "document_uri": stored.uri,
        "document_sha256": stored.sha256,
        "issued_at": _instant(invoice.issued_at),
        "replaces_invoice_number": invoice.replaces_invoice_number,
    }
    check_invoice_generated(event)
    return event
