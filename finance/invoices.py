"""Finance's invoices: list, show, period totals (through billing.issued) and voids.

Voids run on the caller's own connection: never SET ROLE, never an owner URL chosen for them.
The database decides (grants and row-level security): only billing_finance may insert a
void, in its own name (voided_by = session_user).
"""

from __future__ import annotations

import re

import psycopg
from psycopg import errors

from billing import db, issued
from billing.errors import BillingError, PermissionRefusedError, RefusedError
from billing.issued import CurrencyTotal, IssuedInvoice, Void
from billing.periods import Period
from billing.roles import Role
from billing.settings import Settings

INVOICE_NUMBER = re.compile(r"^INV-[0-9]{6}-[0-9]{6}$")


class InvoiceNotFoundError(RefusedError):
    """No issued invoice has that number (or the caller may not see it)."""


class InvalidInvoiceNumberError(RefusedError):
    """Text that is not an invoice number INV-YYYYMM-NNNNNN."""


class VoidRefusedError(RefusedError):
    """A void that cannot be recorded as asked (no reason given)."""


class AlreadyVoidError(RefusedError):
    """The invoice is void already; a void invoice cannot be voided again."""


def validate_invoice_number(number: str) -> str:
    if not INVOICE_NUMBER.match(number):
        raise InvalidInvoiceNumberError(
            f"{number!r} is not an invoice number: use INV-YYYYMM-NNNNNN, e.g. INV-202610-000001"
        )
    return number


def list_invoices(database_url: str, period: Period | None = None) -> list[IssuedInvoice]:
    """Issued invoices (of one period, or all), in number order, with status and customer."""
    with psycopg.connect(database_url) as conn:
        return issued.list_issued(conn, period)


def show_invoice(database_url: str, number: str) -> IssuedInvoice:
    """One invoice with its lines."""
    validate_invoice_number(number)
    with psycopg.connect(database_url) as conn:
        invoice = issued.find_issued(conn, number)
    if invoice is None:
        raise InvoiceNotFoundError(
            f"no issued invoice {number}: `billing invoices list` shows them"
        )
    return invoice


def period_totals(settings: Settings, owner_url: str, period: Period) -> list[CurrencyTotal]:
    """Issued, not void invoices of a period per currency, read as billing_finance."""
    url, role = db.role_url(settings, owner_url, Role.FINANCE)
    with db.connect(url, role=role) as conn:
        return issued.totals_by_currency(conn, period)


def _refuse_a_login_that_may_not_void(
    conn: psycopg.Connection[tuple[object, ...]], number: str
) -> None:
    """Refuse before anything is written: a superuser (who bypasses every policy) or a login
    that is not a member of billing_finance. The database refuses them too (migration 0013)."""
    login = conn.execute(
        "select session_user, rolsuper, pg_has_role(session_user, %s, 'MEMBER')"
        " from pg_roles where rolname = session_user",
        (Role.FINANCE.value,),
    ).fetchone()
    if login is None or login[1] or not login[2]:
        name = login[0] if login else "this login"
        what = "a superuser" if login and login[1] else f"not a member of {Role.FINANCE.value}"
        raise PermissionRefusedError(
            f"{name} may not void {number}: it is {what}, and voids are reserved to members "
            f"of {Role.FINANCE.value}; connect with your own Finance login (BILLING_DATABASE_URL)"
        )


def void_invoice(
    database_url: str, number: str, *, reason: str, replacement_required: bool
) -> Void:
    """Void an issued invoice as the caller's own login (Finance only)."""
    validate_invoice_number(number)
    if not reason.strip():
        raise VoidRefusedError("a void needs a reason: --reason 'what was wrong'")
    replacement = "required" if replacement_required else "none"
    try:
        with psycopg.connect(database_url) as conn:
            _refuse_a_login_that_may_not_void(conn, number)
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
    return Void(reason.strip(), replacement, row[1], str(row[0]))
