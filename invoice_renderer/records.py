"""The renderer's database side, as role billing_renderer (SPEC §5).

It reads the issued tables, the voids and the accounts, and writes billing.invoice_documents
and, in the same transaction as an invoice's document, its event in billing.invoice_outbox.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from billing import db
from billing.errors import BillingError
from billing.roles import Role
from billing.settings import INVOICE_SUBJECT, Settings
from invoice_renderer.events import invoice_generated
from invoice_renderer.model import (
    Customer,
    DocumentJob,
    DocumentKind,
    Invoice,
    InvoiceLine,
    StoredDocument,
    Void,
)

Connection = psycopg.Connection[Any]


@contextmanager
def renderer_connection(settings: Settings, database_url: str) -> Iterator[Connection]:
    """A connection as billing_renderer (its own URL in production, SET ROLE locally)."""
    url, role = db.role_url(settings, database_url, Role.RENDERER)
    with db.connect(url, role=role) as conn:
        yield conn


class MissingAccountError(BillingError):
    """An issued invoice whose tenant has no row in ref.accounts (nothing to print)."""


@dataclass(frozen=True)
class PendingDocument:
    """A document that has to be rendered: which invoice, which kind."""

    invoice_number: str
    kind: DocumentKind


def pending_documents(conn: Connection, period: str | None = None) -> list[PendingDocument]:
    """Issued invoices without an invoice document, and voids without a void notice."""
    rows = conn.execute(
        """
        select invoices.invoice_number, 'invoice' as kind
        from billing.issued_invoices as invoices
        where (%(period)s::text is null or invoices.period = %(period)s::text)
            and not exists (
                select 1 from billing.invoice_documents as documents
                where documents.invoice_number = invoices.invoice_number
                    and documents.kind = 'invoice'
            )
        union all
        select voids.invoice_number, 'void_notice' as kind
        from billing.invoice_voids as voids
        inner join billing.issued_invoices as invoices
            on invoices.invoice_number = voids.invoice_number
        where (%(period)s::text is null or invoices.period = %(period)s::text)
            and not exists (
                select 1 from billing.invoice_documents as documents
                where documents.invoice_number = voids.invoice_number
                    and documents.kind = 'void_notice'
            )
        order by kind, invoice_number
        """,
        {"period": period},
    ).fetchall()
    conn.commit()
    return [PendingDocument(str(number), DocumentKind(kind)) for number, kind in rows]


def load_jobs(conn: Connection, pending: Sequence[PendingDocument]) -> list[DocumentJob]:
    """The invoices (with lines, customer and void) behind `pending`, in the same order."""
    numbers = sorted({item.invoice_number for item in pending})
    with conn.cursor(row_factory=dict_row) as cursor:
        invoice_rows = cursor.execute(
            """
            select invoices.*, accounts.name as customer_name, accounts.billing_email
            from billing.issued_invoices as invoices
            inner join ref.accounts as accounts on accounts.tenant_id = invoices.tenant_id
            where invoices.invoice_number = any(%s)
            """,
            (numbers,),
        ).fetchall()
        line_rows = cursor.execute(
            """
            select * from billing.issued_invoice_lines
            where invoice_number = any(%s)
            order by invoice_number, line_number
            """,
            (numbers,),
        ).fetchall()
        void_rows = cursor.execute(
            "select * from billing.invoice_voids where invoice_number = any(%s)", (numbers,)
        ).fetchall()
    conn.commit()
    lines: dict[str, list[InvoiceLine]] = {}
    for row in line_rows:
        lines.setdefault(row["invoice_number"], []).append(
            InvoiceLine(
                line_number=row["line_number"],
                line_type=row["line_type"],
                description=row["description"],
                usage_period=row["usage_period"],
                operator_id=row["operator_id"],
                direction=row["direction"],
                account_tier=row["account_tier"],
                rule_id=row["rule_id"],
                fee_id=row["fee_id"],
                quantity=Decimal(row["quantity"]),
                unit_price=row["unit_price"],
                amount=row["amount"],
                service_start=row["service_start"],
                service_end=row["service_end"],
                period_days=row["period_days"],
            )
        )
    invoices = {
        row["invoice_number"]: Invoice(
            invoice_number=row["invoice_number"],
            period=row["period"],
            tenant_id=row["tenant_id"],
            currency=row["currency"].strip(),
            subtotal=row["subtotal"],
            total=row["total"],
            line_count=row["line_count"],
            issued_at=row["issued_at"],
            replaces_invoice_number=row["replaces_invoice_number"],
            customer=Customer(
                tenant_id=row["tenant_id"],
                name=row["customer_name"],
                billing_email=row["billing_email"],
            ),
            lines=tuple(lines.get(row["invoice_number"], ())),
        )
        for row in invoice_rows
    }
    voids = {
        row["invoice_number"]: Void(
            reason=row["reason"], replacement=row["replacement"], voided_at=row["voided_at"]
        )
        for row in void_rows
    }
    jobs = []
    for item in pending:
        invoice = invoices.get(item.invoice_number)
        if invoice is None:
            raise MissingAccountError(
                f"{item.invoice_number} has no account in ref.accounts: import the account "
                "(billing accounts import) and render again"
            )
        void = voids.get(item.invoice_number) if item.kind is DocumentKind.VOID_NOTICE else None
        jobs.append(DocumentJob(invoice, item.kind, void))
    return jobs


def record_documents(
    conn: Connection,
    stored: Sequence[tuple[DocumentJob, StoredDocument]],
    *,
    now: datetime | None = None,
) -> list[UUID | None]:
    """Record stored documents and, for invoices, their outbox events: one transaction.

    Returns, per document, its event id, or None for a void notice (it is announced by no
    event) and for a document another run recorded first.
    """
    occurred_at = now or datetime.now(UTC)
    events: list[UUID | None] = []
    with conn.transaction():
        for job, document in stored:
            inserted = conn.execute(
                """
                insert into billing.invoice_documents
                    (invoice_number, kind, tenant_id, uri, sha256, size_bytes, content_type)
                values (%s, %s, %s, %s, %s, %s, 'application/pdf')
                on conflict (invoice_number, kind) do nothing
                """,
                (
                    job.invoice.invoice_number,
                    job.kind.value,
                    job.invoice.tenant_id,
                    document.uri,
                    document.sha256,
                    document.size_bytes,
                ),
            ).rowcount
            if not inserted or job.kind is not DocumentKind.INVOICE:
                events.append(None)
                continue
            event_id = uuid4()
            payload = invoice_generated(job.invoice, document, event_id, occurred_at)
            conn.execute(
                """
                insert into billing.invoice_outbox (event_id, invoice_number, subject, payload)
                values (%s, %s, %s, %s)
                """,
                (event_id, job.invoice.invoice_number, INVOICE_SUBJECT, Jsonb(payload)),
            )
            events.append(event_id)
    conn.commit()
    return events
