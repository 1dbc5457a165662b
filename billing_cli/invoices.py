"""`billing invoices list | show | void`: issued invoices, as Finance reads and voids them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated

import typer
from psycopg import errors
from rich.table import Table

from billing import localservices
from billing.errors import BillingError, ServicesNotRunningError
from billing.settings import load_settings
from billing_cli.app import console
from billing_cli.groups import invoices_app
from finance.invoices import list_invoices, show_invoice, void_invoice


def caller_database_url() -> str:
    """The caller's own URL (BILLING_DATABASE_URL), else the embedded server's owner URL."""
    settings = load_settings()
    if settings.database_url:
        return settings.database_url
    state = localservices.read_state(settings.state_dir)
    if state is None:
        raise ServicesNotRunningError(
            "BILLING_DATABASE_URL is not set and no embedded database is running: "
            "run `billing up` first (or set BILLING_DATABASE_URL)"
        )
    return state.database_url


@contextmanager
def _views_built() -> Iterator[None]:
    """billing.invoices and invoice_lines are dbt views: absent until the first close."""
    try:
        yield
    except errors.UndefinedTable:
        raise BillingError(
            "no invoice views in this database yet: they are built by the first close "
            "(`billing close --month YYYY-MM`)"
        ) from None


@invoices_app.command("list")
def list_command(
    month: Annotated[
        str | None, typer.Option("--month", help="Only this billing period, YYYY-MM.")
    ] = None,
) -> None:
    """Issued invoices in number order, with status (issued | void) and totals per currency."""
    with _views_built():
        invoices = list_invoices(caller_database_url(), month)
    if not invoices:
        console.print(f"no issued invoices{f' for {month}' if month else ''}")
        return
    table = Table(title=f"Invoices{f' of {month}' if month else ''}")
    for column, justify in (
        ("number", "left"),
        ("tenant", "left"),
        ("period", "left"),
        ("currency", "left"),
        ("total", "right"),
        ("lines", "right"),
        ("status", "left"),
        ("replaces", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    totals: dict[str, tuple[int, Decimal]] = {}
    for invoice in invoices:
        table.add_row(
            invoice.invoice_number,
            invoice.tenant_id,
            invoice.period,
            invoice.currency,
            f"{invoice.total:,.2f}",
            str(invoice.line_count),
            invoice.status if invoice.status == "issued" else f"[red]{invoice.status}[/]",
            invoice.replaces_invoice_number or "",
        )
        if invoice.status == "issued":
            count, amount = totals.get(invoice.currency, (0, Decimal("0")))
            totals[invoice.currency] = (count + 1, amount + invoice.total)
    console.print(table)
    for currency, (count, amount) in sorted(totals.items()):
        console.print(f"{currency}: {count} issued invoice(s), {amount:,.2f} in total")


@invoices_app.command("show")
def show_command(
    number: Annotated[str, typer.Argument(help="Invoice number INV-YYYYMM-NNNNNN.")],
) -> None:
    """One invoice with its lines."""
    with _views_built():
        invoice, lines = show_invoice(caller_database_url(), number)
    console.print(
        f"[bold]{invoice.invoice_number}[/]  tenant {invoice.tenant_id}  period {invoice.period}"
        f"  issued {invoice.issued_at:%Y-%m-%d %H:%M} UTC  status {invoice.status}"
        + (
            f"  replaces {invoice.replaces_invoice_number}"
            if invoice.replaces_invoice_number
            else ""
        )
    )
    table = Table()
    for column, justify in (
        ("#", "right"),
        ("description", "left"),
        ("quantity", "right"),
        ("unit price", "right"),
        ("amount", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for line in lines:
        table.add_row(
            str(line.line_number),
            line.description,
            f"{line.quantity:,}",
            str(line.unit_price.normalize() if line.unit_price else line.unit_price),
            f"{line.amount:,.2f}",
        )
    console.print(table)
    console.print(
        f"subtotal {invoice.subtotal:,.2f} {invoice.currency}   "
        f"[bold]total {invoice.total:,.2f} {invoice.currency}[/]   (no tax charged)"
    )


@invoices_app.command("void")
def void_command(
    number: Annotated[str, typer.Argument(help="Invoice number INV-YYYYMM-NNNNNN.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is void (kept for audit).")],
    no_replacement: Annotated[
        bool,
        typer.Option(
            "--no-replacement",
            help="Void without a replacement (default: the next close of its month issues one).",
        ),
    ] = False,
) -> None:
    """Void an issued invoice, as your own login (Finance only; the database decides)."""
    void = void_invoice(
        caller_database_url(), number, reason=reason, replacement_required=not no_replacement
    )
    console.print(
        f"[bold]{void.invoice_number} is void[/] (by {void.voided_by} at "
        f"{void.voided_at:%Y-%m-%d %H:%M} UTC)."
    )
    if void.replacement == "required":
        console.print(
            "A replacement is required: the next `billing close --month "
            f"{number[4:8]}-{number[8:10]}` issues it with the current catalogues."
        )
    else:
        console.print("No replacement will be issued.")
