"""Issued invoices as they are read back: header, snapshot, lines and void.

The one read model of an issued invoice, shared by Finance's commands (list, show, totals)
and the renderer (documents, events). It reads the append-only tables the migrations create
(billing.issued_invoices, issued_invoice_lines, invoice_voids), so it works before the first
close too; an invoice's status is derived from its void, as in the billing.invoices view
(SPEC section 4). The customer, issuer, terms and tax statement come from the invoice's own
snapshot, taken when it was issued, never from today's ref.accounts or settings: a rename
after issue changes no document. The caller's connection decides the role and so the rows it
may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg

from billing.periods import Period
from billing.settings import Issuer, TaxStatement

Connection = psycopg.Connection[Any]


class Status(StrEnum):
    """An issued invoice stands, or Finance voided it."""

    ISSUED = "issued"
    VOID = "void"


@dataclass(frozen=True)
class Customer:
    """The bill-to of an invoice: the account as ref.accounts held it at issue."""

    tenant_id: UUID
    name: str
    billing_email: str
    address: str | None = None  # postal address, lines separated by newlines
    country: str | None = None  # ISO 3166-1 alpha-2
    tax_id: str | None = None


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
    operator_name: str | None = None  # the operators seed's display name at issue
    operator_country: str | None = None


@dataclass(frozen=True)
class Void:
    """Why, when and by whom Finance voided an invoice (billing.invoice_voids)."""

    reason: str
    replacement: str  # 'required': the next close of the month issues one; 'none'
    voided_at: datetime
    voided_by: str


@dataclass(frozen=True)
class IssuedInvoice:
    """One issued invoice as issued (never changed), its customer, its lines and its void."""

    invoice_number: str
    period: str
    tenant_id: UUID
    currency: str
    subtotal: Decimal
    total: Decimal
    line_count: int
    issued_at: datetime
    replaces_invoice_number: str | None
    customer: Customer | None  # None only for an invoice issued without an account
    lines: tuple[InvoiceLine, ...] = ()
    void: Void | None = None
    # The rest of the snapshot. None on invoices issued before it was kept (migration 0007):
    # their documents use the configured issuer and tax statement, and show no due date.
    issuer: Issuer | None = None
    tax: TaxStatement | None = None
    payment_terms_days: int | None = None
    due_date: date | None = None
    minor_units: int = 2  # ISO 4217 minor units of the currency: the places amounts print with
    catalogue_versions: dict[str, str] | None = None

    @property
    def status(self) -> Status:
        return Status.VOID if self.void is not None else Status.ISSUED


@dataclass(frozen=True)
class CurrencyTotal:
    """Issued, not void invoices of a period in one currency."""

    currency: str
    invoices: int
    total: Decimal


_HEADERS = """
    select
        invoices.invoice_number, invoices.period, invoices.tenant_id, invoices.currency,
        invoices.subtotal, invoices.total, invoices.line_count, invoices.issued_at,
        invoices.replaces_invoice_number,
        voids.reason, voids.replacement, voids.voided_at, voids.voided_by,
        invoices.bill_to_name, invoices.bill_to_email, invoices.bill_to_address,
        invoices.bill_to_country, invoices.bill_to_tax_id,
        invoices.issuer_name, invoices.issuer_address, invoices.issuer_vat_id,
        invoices.issuer_email, invoices.tax_statement, invoices.tax_reason,
        invoices.payment_terms_days, invoices.due_date, invoices.currency_minor_units,
        invoices.catalogue_versions
    from billing.issued_invoices as invoices
    left join billing.invoice_voids as voids on voids.invoice_number = invoices.invoice_number
"""

_LINES = """
    select
        invoice_number, line_number, line_type, description, usage_period, operator_id,
        direction, account_tier, rule_id, fee_id, quantity, unit_price, amount,
        service_start, service_end, period_days, operator_name, operator_country
    from billing.issued_invoice_lines
    where invoice_number = any(%s)
    order by invoice_number, line_number
"""


def _customer(tenant_id: UUID, snapshot: Sequence[Any]) -> Customer | None:
    name, email, address, country, tax_id = snapshot
    if name is None:
        return None
    return Customer(tenant_id, name, email, address, country.strip() if country else None, tax_id)


def _header(row: Sequence[Any], lines: Iterable[InvoiceLine] = ()) -> IssuedInvoice:
    (number, period, tenant_id, currency, subtotal, total, line_count, issued_at, replaces) = row[
        :9
    ]
    reason, replacement, voided_at, voided_by = row[9:13]
    issuer_name, issuer_address, issuer_vat_id, issuer_email = row[18:22]
    tax_statement, tax_reason, terms, due_date, minor_units, catalogues = row[22:28]
    return IssuedInvoice(
        invoice_number=number,
        period=period,
        tenant_id=tenant_id,
        currency=currency.strip(),
        subtotal=subtotal,
        total=total,
        line_count=line_count,
        issued_at=issued_at,
        replaces_invoice_number=replaces,
        customer=_customer(tenant_id, row[13:18]),
        lines=tuple(lines),
        void=None if reason is None else Void(reason, replacement, voided_at, voided_by),
        issuer=(
            None
            if issuer_name is None
            else Issuer(issuer_name, issuer_address, issuer_vat_id, issuer_email)
        ),
        tax=None if tax_statement is None else TaxStatement(tax_statement, tax_reason),
        payment_terms_days=terms,
        due_date=due_date,
        minor_units=2 if minor_units is None else minor_units,
        catalogue_versions=catalogues,
    )


def _line(row: Sequence[Any]) -> InvoiceLine:
    return InvoiceLine(
        line_number=row[1],
        line_type=row[2],
        description=row[3],
        usage_period=row[4],
        operator_id=row[5],
        direction=row[6],
        account_tier=row[7],
        rule_id=row[8],
        fee_id=row[9],
        quantity=Decimal(row[10]),
        unit_price=row[11],
        amount=row[12],
        service_start=row[13],
        service_end=row[14],
        period_days=row[15],
        operator_name=row[16],
        operator_country=row[17].strip() if row[17] else None,
    )


def list_issued(conn: Connection, period: Period | None = None) -> list[IssuedInvoice]:
    """Issued invoices (of one period, or all) in number order, without their lines."""
    if period is None:
        rows = conn.execute(_HEADERS + " order by invoices.invoice_number").fetchall()
    else:
        rows = conn.execute(
            _HEADERS + " where invoices.period = %s order by invoices.invoice_number",
            (period.label,),
        ).fetchall()
    return [_header(row) for row in rows]


def load_issued(conn: Connection, numbers: Iterable[str]) -> dict[str, IssuedInvoice]:
    """The invoices with these numbers, with their lines; numbers not issued are absent."""
    wanted = sorted(set(numbers))
    headers = conn.execute(
        _HEADERS + " where invoices.invoice_number = any(%s)", (wanted,)
    ).fetchall()
    lines: dict[str, list[InvoiceLine]] = {}
    for row in conn.execute(_LINES, (wanted,)).fetchall():
        lines.setdefault(row[0], []).append(_line(row))
    return {row[0]: _header(row, lines.get(row[0], ())) for row in headers}


def find_issued(conn: Connection, number: str) -> IssuedInvoice | None:
    """One invoice with its lines, or None when there is none with that number."""
    return load_issued(conn, [number]).get(number)


def totals_by_currency(conn: Connection, period: Period) -> list[CurrencyTotal]:
    """Issued, not void invoices of `period`: how many and their total, per currency."""
    rows = conn.execute(
        """
        select invoices.currency, count(*), sum(invoices.total)
        from billing.issued_invoices as invoices
        where invoices.period = %s
            and not exists (
                select 1 from billing.invoice_voids as voids
                where voids.invoice_number = invoices.invoice_number
            )
        group by invoices.currency
        order by invoices.currency
        """,
        (period.label,),
    ).fetchall()
    return [
        CurrencyTotal(str(currency).strip(), int(count), total) for currency, count, total in rows
    ]
