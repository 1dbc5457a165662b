"""Reading issued invoices and voiding them (Finance).

Voids run on the caller's own connection: never SET ROLE, never an owner URL chosen for them.
The database decides (grants and row-level security): only billing_finance may insert a
void, in its own name (voided_by = session_user).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg
from psycopg import errors

from billing.errors import BillingError, PermissionRefusedError
from billing.periods import Period

INVOICE_NUMBER = re.compile(r"^INV-[0-9]{6}-[0-9]{6}$")


class InvoiceNotFoundError(BillingError):
    """No issued invoice has that number (or the caller may not see it)."""


class AlreadyVoidError(BillingError):
    """The invoice is void already; a void invoice cannot be voided again."""


@dataclass(frozen=True)
class InvoiceSummary:
    invoice_number: str
    tenant_id: str
    period: str
    currency: str
    subtotal: Decimal
    total: Decimal
    line_count: int
    issued_at: datetime
    status: str
    replaces_invoice_number: str | None


@dataclass(frozen=True)
class InvoiceLine:
    line_number: int
    line_type: str
    description: str
    usage_period: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Void:
    invoice_number: str
    voided_by: str
    voided_at: datetime
    replacement: str


def validate_invoice_number(number: str) -> str:
    if not INVOICE_NUMBER.match(number):
        raise BillingError(f"{number!r} is not an invoice number (INV-YYYYMM-NNNNNN)")
    return number


def validate_period(period: str) -> str:
    return Period.parse(period).label


_SUMMARY = (
    "select invoice_number, tenant_id::text, period, currency, subtotal, total, line_count,"
    " issued_at, status, replaces_invoice_number from billing.invoices"
)


def list_invoices(database_url: str, period: str | None = None) -> list[InvoiceSummary]:
    """Issued invoices (of one period, or all), in number order, with their status."""
    query = _SUMMARY
    parameters: tuple[str, ...] = ()
    if period is not None:
        query += " where period = %s"
        parameters = (validate_period(period),)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(query + " order by invoice_number", parameters).fetchall()
    return [InvoiceSummary(*row) for row in rows]


def show_invoice(database_url: str, number: str) -> tuple[InvoiceSummary, list[InvoiceLine]]:
    """One invoice and its lines."""
    validate_invoice_number(number)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            _SUMMARY + " where invoice_number = %s",
            (number,),
        ).fetchone()
        if row is None:
            raise InvoiceNotFoundError(f"no issued invoice {number}")
        lines = conn.execute(
            "select line_number, line_type, description, usage_period, quantity, unit_price,"
            " amount from billing.invoice_lines where invoice_number = %s order by line_number",
            (number,),
        ).fetchall()
    return InvoiceSummary(*row), [InvoiceLine(*line) for line in lines]


def void_invoice(
    database_url: str, number: str, *, reason: str, replacement_required: bool
) -> Void:
    """Void an issued invoice as the caller's own login (Finance only)."""
    validate_invoice_number(number)
    if not reason.strip():
        raise BillingError("a void needs a reason: --reason 'what was wrong'")
    replacement = "required" if replacement_required else "none"
    try:
        with psycopg.connect(database_url) as conn:
            invoice = conn.execute(
                "select tenant_id from billing.issued_invoices where invoice_number = %s",
                (number,),
            ).fetchone()
            if invoice is None:
                raise InvoiceNotFoundError(f"no issued invoice {number}")
            row = conn.execute(
                "insert into billing.invoice_voids (invoice_number, tenant_id, reason, replacement)"
                " values (%s, %s, %s, %s) returning voided_by, voided_at",
                (number, invoice[0], reason.strip(), replacement),
            ).fetchone()
    except errors.UniqueViolation:
        raise AlreadyVoidError(
            f"{number} is void already; a void cannot be undone or repeated"
        ) from None
    except (errors.InsufficientPrivilege, errors.CheckViolation) as error:
        raise PermissionRefusedError(
            f"the database refused the void of {number} for this login "
            f"({error.diag.message_primary}): voids are reserved to members of billing_finance; "
            "connect with your own Finance login (BILLING_DATABASE_URL)"
        ) from None
    if row is None:  # an insert ... returning always returns its row
        raise BillingError(f"the void of {number} returned nothing")
    return Void(number, str(row[0]), row[1], replacement)
