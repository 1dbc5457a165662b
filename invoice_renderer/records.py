"""The renderer's database side, as role billing_renderer (SPEC §5).

It reads the issued tables and the voids (each invoice carries its own bill-to snapshot), and
writes billing.invoice_documents and, in the same transaction as an invoice's document, its
event in billing.invoice_outbox.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.types.json import Jsonb

from billing import db, issued
from billing.errors import BillingError
from billing.roles import Role
from billing.settings import INVOICE_SUBJECT, Settings
from invoice_renderer.events import invoice_generated
from invoice_renderer.model import DocumentJob, DocumentKind, StoredDocument

Connection = psycopg.Connection[Any]


@contextmanager
def renderer_connection(settings: Settings, database_url: str) -> Iterator[Connection]:
    """A connection as billing_renderer (its own URL in production, SET ROLE locally)."""
    url, role = db.role_url(settings, database_url, Role.RENDERER)
    with db.connect(url, role=role) as conn:
        yield conn


class MissingAccountError(BillingError):
    """An issued invoice without a bill-to (issued before any account was imported)."""


@dataclass(frozen=True)
class PendingDocument:
    """A document that has to be rendered: which invoice, which kind (for an invoice: its
    PDF and copies, or only the copies when `stored_pdf` was recorded earlier)."""

    invoice_number: str
    kind: DocumentKind
    stored_pdf: StoredDocument | None = None


def pending_documents(conn: Connection, period: str | None = None) -> list[PendingDocument]:
    """Issued invoices without their PDF, JSON or CSV, and voids without a void notice."""
    rows = conn.execute(
        """
        select invoices.invoice_number, 'invoice' as kind, pdf.uri, pdf.sha256, pdf.size_bytes
        from billing.issued_invoices as invoices
        left join billing.invoice_documents as pdf
            on pdf.invoice_number = invoices.invoice_number and pdf.kind = 'invoice'
        where (%(period)s::text is null or invoices.period = %(period)s::text)
            and (
                select count(*) from billing.invoice_documents as documents
                where documents.invoice_number = invoices.invoice_number
                    and documents.kind in ('invoice', 'invoice_json', 'invoice_csv')
            ) < 3
        union all
        select voids.invoice_number, 'void_notice' as kind, null, null, null
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
    return [
        PendingDocument(
            str(number),
            DocumentKind(kind),
            None if uri is None else StoredDocument(uri, sha256, size, created=False),
        )
        for number, kind, uri, sha256, size in rows
    ]


def load_jobs(conn: Connection, pending: Sequence[PendingDocument]) -> list[DocumentJob]:
    """The invoices (with lines, customer and void) behind `pending`, in the same order."""
    invoices = issued.load_issued(conn, (item.invoice_number for item in pending))
    conn.commit()
    jobs = []
    for item in pending:
        invoice = invoices.get(item.invoice_number)
        if invoice is None or invoice.customer is None:
            raise MissingAccountError(
                f"{item.invoice_number} was issued without a bill-to (its account was not in "
                "ref.accounts then): void it and let the replacement carry the account"
            )
        jobs.append(DocumentJob(invoice, item.kind, item.stored_pdf))
    return jobs


def record_documents(
    conn: Connection,
    stored: Sequence[tuple[DocumentJob, Sequence[tuple[DocumentKind, StoredDocument]]]],
    *,
    now: datetime | None = None,
) -> list[UUID | None]:
    """Record stored documents and, for invoice PDFs, their outbox events: one transaction.

    Each job brings its documents (an invoice: the PDF, then its JSON and CSV copies; a void
    notice: itself). Returns, per job, its event id, or None for a void notice (it is
    announced by no event) and for a PDF recorded earlier (by another run, or before its
    copies existed).
    """
    occurred_at = now or datetime.now(UTC)
    events: list[UUID | None] = []
    with conn.transaction():
        for job, documents in stored:
            event: UUID | None = None
            for kind, document in documents:
                inserted = conn.execute(
                    """
                    insert into billing.invoice_documents
                        (invoice_number, kind, tenant_id, uri, sha256, size_bytes, content_type)
                    values (%s, %s, %s, %s, %s, %s, %s)
                    on conflict (invoice_number, kind) do nothing
                    """,
                    (
                        job.invoice.invoice_number,
                        kind.value,
                        job.invoice.tenant_id,
                        document.uri,
                        document.sha256,
                        document.size_bytes,
                        kind.content_type,
                    ),
                ).rowcount
                if inserted and kind is DocumentKind.INVOICE:
                    event = uuid4()
                    payload = invoice_generated(job.invoice, document, event, occurred_at)
                    conn.execute(
                        """
                        insert into billing.invoice_outbox
                            (event_id, invoice_number, subject, payload)
                        values (%s, %s, %s, %s)
                        """,
                        (event, job.invoice.invoice_number, INVOICE_SUBJECT, Jsonb(payload)),
                    )
            events.append(event)
    conn.commit()
    return events
