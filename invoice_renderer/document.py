"""The invoice as HTML: a view of an issued invoice (strings only) and the Jinja2 template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import jinja2

from billing.issued import InvoiceLine, IssuedInvoice
from billing.settings import Issuer
from invoice_renderer import formatting
from invoice_renderer.model import DocumentJob, DocumentKind

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

_GROUP_ORDER = {"subscription": 0, "usage": 1, "late_usage": 2}


@dataclass(frozen=True)
class LineView:
    """One printed line: everything already formatted."""

    description: str
    detail: str
    quantity: str
    unit_price: str
    amount: str


@dataclass(frozen=True)
class GroupView:
    """A titled block of lines: subscription, the period's usage, or one month of late usage."""

    title: str
    lines: tuple[LineView, ...]


@dataclass(frozen=True)
class VoidView:
    date: str
    reason: str
    replacement: str


def _line_view(line: InvoiceLine, currency: str) -> LineView:
    if line.line_type == "subscription":
        days = formatting.quantity(line.quantity)
        detail = f"Monthly fee {formatting.unit_price(line.unit_price)}"
        if line.period_days:
            detail += f" × {days}/{line.period_days} days"
        return LineView(
            description=line.description,
            detail=detail,
            quantity=f"{days} days",
            unit_price=formatting.unit_price(line.unit_price),
            amount=formatting.amount(line.amount, currency),
        )
    return LineView(
        description=line.description,
        detail="",
        quantity=formatting.quantity(line.quantity),
        unit_price=formatting.unit_price(line.unit_price),
        amount=formatting.amount(line.amount, currency),
    )


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
    return tuple(
        GroupView(
            title=_group_title(lines[0]),
            lines=tuple(_line_view(line, invoice.currency) for line in lines),
        )
        for lines in groups.values()
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def context(job: DocumentJob, issuer: Issuer) -> dict[str, object]:
    """Everything the template prints, formatted."""
    invoice = job.invoice
    created = invoice.issued_at
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
    return {
        "title": "Void notice" if void else "Invoice",
        "number": invoice.invoice_number,
        "issuer": issuer,
        "customer": invoice.customer,
        "period": formatting.period_name(invoice.period),
        "issue_date": formatting.long_date(invoice.issued_at.astimezone(UTC)),
        "currency": invoice.currency,
        "replaces": invoice.replaces_invoice_number,
        "groups": line_groups(invoice),
        "subtotal": formatting.amount(invoice.subtotal, invoice.currency),
        "total": formatting.amount(invoice.total, invoice.currency),
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


def render_html(job: DocumentJob, issuer: Issuer) -> str:
    """The HTML of one document (invoice or void notice)."""
    return _template().render(context(job, issuer))
