"""The invoice as HTML: a view of an issued invoice (strings only) and the Jinja2 template.

Everything printed comes from the issued invoice and its snapshot (bill-to, issuer, terms,
tax statement, minor units), so a document rendered today or again later says what the
invoice said when it was issued. The configured issuer and tax statement are used only for
invoices issued before the snapshot was kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import jinja2

from billing.countries import country_name
from billing.issued import Customer, InvoiceLine, IssuedInvoice
from billing.settings import Issuer, TaxStatement
from invoice_renderer import formatting
from invoice_renderer.model import DocumentJob, DocumentKind
from invoice_renderer.wording import LineText, describe, price_places

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

_GROUP_ORDER = {"subscription": 0, "usage": 1, "late_usage": 2}


@dataclass(frozen=True)
class GroupView:
    """A titled block of lines: subscription, the period's usage, or one month of late usage."""

    title: str
    lines: tuple[LineText, ...]


@dataclass(frozen=True)
class VoidView:
    date: str
    reason: str
    replacement: str


@dataclass(frozen=True)
class CustomerView:
    """The bill-to block, from the invoice's snapshot."""

    name: str
    address_lines: tuple[str, ...]
    tax_id: str | None
    billing_email: str
    tenant_id: str


def _group_key(line: InvoiceLine) -> tuple[int, str]:
    return _GROUP_ORDER.get(line.line_type, 3), line.usage_period


def _group_title(line: InvoiceLine) -> str:
    if line.line_type == "subscription":
        return "Subscription"
    if line.line_type == "usage":
        return f"Usage, {formatting.period_name(line.usage_period)}"
    return f"Late usage from {formatting.period_name(line.usage_period)}"


def line_groups(invoice: IssuedInvoice) -> tuple[GroupView, ...]:
    """Lines grouped as subscription, usage, then late usage by original month, in line order."""
    groups: dict[tuple[int, str], list[InvoiceLine]] = {}
    for line in sorted(invoice.lines, key=lambda line: (_group_key(line), line.line_number)):
        groups.setdefault(_group_key(line), []).append(line)
    places = invoice.minor_units
    return tuple(
        GroupView(
            title=_group_title(lines[0]),
            lines=tuple(
                describe(line, invoice.lines, places, price_places(lines, places)) for line in lines
            ),
        )
        for lines in groups.values()
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def customer_view(customer: Customer) -> CustomerView:
    """The bill-to lines: name, postal address (and country), tax id, e-mail, account id."""
    address = tuple(part.strip() for part in (customer.address or "").splitlines() if part.strip())
    if customer.country:
        address += (country_name(customer.country),)
    return CustomerView(
        name=customer.name,
        address_lines=address,
        tax_id=customer.tax_id,
        billing_email=customer.billing_email,
        tenant_id=str(customer.tenant_id),
    )


def context(job: DocumentJob, issuer: Issuer, tax: TaxStatement | None = None) -> dict[str, object]:
    """Everything the template prints, formatted; `issuer` and `tax` serve only invoices
    issued without their own (before migration 0007)."""
    invoice = job.invoice
    if invoice.customer is None:
        raise ValueError(f"{invoice.invoice_number} has no bill-to")
    created = invoice.issued_at
    places = invoice.minor_units
    void = None
    if job.kind is DocumentKind.VOID_NOTICE:
        if job.void is None:
            raise ValueError(f"void notice of {invoice.invoice_number} without its void")
        created = job.void.voided_at
        void = VoidView(
            date=formatting.long_date(job.void.voided_at.astimezone(UTC)),
            reason=job.void.reason.strip().rstrip("."),
            replacement=(
                "A replacement invoice will follow."
                if job.void.replacement == "required"
                else "No replacement invoice will be issued."
            ),
        )
    terms = invoice.payment_terms_days
    return {
        "title": "Void notice" if void else "Invoice",
        "number": invoice.invoice_number,
        "issuer": invoice.issuer or issuer,
        "tax": invoice.tax or tax or TaxStatement(),
        "customer": customer_view(invoice.customer),
        "period": formatting.period_name(invoice.period),
        "issue_date": formatting.long_date(invoice.issued_at.astimezone(UTC)),
        "due_date": formatting.long_date(invoice.due_date) if invoice.due_date else None,
        "terms": None if terms is None else f"{terms} day{'s' if terms != 1 else ''}",
        "currency": invoice.currency,
        "replaces": invoice.replaces_invoice_number,
        "groups": line_groups(invoice),
        "subtotal": formatting.amount(invoice.subtotal, places),
        "tax_amount": formatting.amount(invoice.total - invoice.subtotal, places),
        "total": formatting.amount(invoice.total, places),
        "line_count": invoice.line_count,
        "void": void,
        # Fixed document dates (not "now") keep the PDF bytes the same for the same input.
        "created": _iso(created),
        "modified": _iso(created),
    }


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("invoice.html")


def render_html(job: DocumentJob, issuer: Issuer, tax: TaxStatement | None = None) -> str:
    """The HTML of one document (invoice or void notice)."""
    return _template().render(context(job, issuer, tax))
