"""The invoice machine-readable, stored beside its PDF: NUMBER.json and NUMBER.csv.

Both come from the issued record (the same IssuedInvoice the PDF is rendered from), never from
today's accounts or catalogues. The JSON holds the fields of billing.invoice.generated.v1 that
describe the invoice (all but the event's own event_id, event_type and occurred_at), the
snapshot (bill-to, issuer, terms, due date, tax statement, minor units, catalogue versions) and
every line; the CSV one row per line. Money is a decimal string with the currency's minor
units (never a float, never rounded here); dates are ISO 8601. Bytes are stable: the same
invoice always gives the same files, so a rerun finds them stored already.

A line carries the customer's wording (as on the PDF) and, for reconciliation, the catalogue
row it was priced with (rule_id or fee_id) and the operator id: ids, not costs.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any

from billing.issued import IssuedInvoice
from invoice_renderer import formatting
from invoice_renderer.model import StoredDocument
from invoice_renderer.wording import describe

FORMAT = "billing.invoice.document.v1"

CSV_COLUMNS = (
    "invoice_number",
    "line_number",
    "line_type",
    "usage_period",
    "description",
    "detail",
    "operator_id",
    "operator_name",
    "operator_country",
    "direction",
    "account_tier",
    "rule_id",
    "fee_id",
    "service_start",
    "service_end",
    "period_days",
    "quantity",
    "unit_price",
    "amount",
    "currency",
)


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def lines(invoice: IssuedInvoice) -> list[dict[str, Any]]:
    """The lines as records: the columns of CSV_COLUMNS, money as decimal strings."""
    places = invoice.minor_units
    records = []
    for line in invoice.lines:
        text = describe(line, invoice.lines, places)
        records.append(
            {
                "invoice_number": invoice.invoice_number,
                "line_number": line.line_number,
                "line_type": line.line_type,
                "usage_period": line.usage_period,
                "description": text.description,
                "detail": text.detail or None,
                "operator_id": line.operator_id,
                "operator_name": line.operator_name,
                "operator_country": line.operator_country,
                "direction": line.direction,
                "account_tier": line.account_tier,
                "rule_id": line.rule_id,
                "fee_id": line.fee_id,
                "service_start": _day(line.service_start),
                "service_end": _day(line.service_end),
                "period_days": line.period_days,
                "quantity": formatting.plain(line.quantity, 0),
                "unit_price": formatting.plain(line.unit_price, places),
                "amount": formatting.plain(line.amount, places),
                "currency": invoice.currency,
            }
        )
    return records


def invoice_record(invoice: IssuedInvoice, pdf: StoredDocument) -> dict[str, Any]:
    """The JSON copy as a dict: the invoice.generated fields, the snapshot and the lines."""
    places = invoice.minor_units
    customer = invoice.customer
    issuer = invoice.issuer
    tax = invoice.tax
    return {
        "format": FORMAT,
        "invoice_number": invoice.invoice_number,
        "tenant_id": str(invoice.tenant_id),
        "period": invoice.period,
        "currency": invoice.currency,
        "currency_minor_units": places,
        "subtotal": formatting.plain(invoice.subtotal, places),
        "tax": formatting.plain(invoice.total - invoice.subtotal, places),
        "total": formatting.plain(invoice.total, places),
        "line_count": invoice.line_count,
        "document_uri": pdf.uri,
        "document_sha256": pdf.sha256,
        "issued_at": _instant(invoice.issued_at),
        "issue_date": invoice.issued_at.astimezone(UTC).date().isoformat(),
        "due_date": _day(invoice.due_date),
        "payment_terms_days": invoice.payment_terms_days,
        "replaces_invoice_number": invoice.replaces_invoice_number,
        "bill_to": None
        if customer is None
        else {
            "name": customer.name,
            "billing_email": customer.billing_email,
            "address": customer.address,
            "country": customer.country,
            "tax_id": customer.tax_id,
        },
        "issuer": None
        if issuer is None
        else {
            "name": issuer.name,
            "address": issuer.address,
            "vat_id": issuer.vat_id,
            "email": issuer.email,
        },
        "tax_statement": None
        if tax is None
        else {"statement": tax.statement, "reason": tax.reason},
        "catalogue_versions": (
            None
            if invoice.catalogue_versions is None
            else dict(sorted(invoice.catalogue_versions.items()))
        ),
        "lines": [
            {key: value for key, value in line.items() if key not in ("invoice_number", "currency")}
            for line in lines(invoice)
        ],
    }


def invoice_json(invoice: IssuedInvoice, pdf: StoredDocument) -> bytes:
    """NUMBER.json: UTF-8, two-space indented, keys in a fixed order, a final newline."""
    text = json.dumps(invoice_record(invoice, pdf), ensure_ascii=False, indent=2)
    return (text + "\n").encode()


def invoice_csv(invoice: IssuedInvoice) -> bytes:
    """NUMBER.csv: a header and one row per line (RFC 4180, UTF-8, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for line in lines(invoice):
        writer.writerow({key: "" if value is None else value for key, value in line.items()})
    return buffer.getvalue().encode()
