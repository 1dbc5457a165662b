"""`billing invoices list | show | void | render | publish`: issued invoices.

Finance reads and voids them with its own login (BILLING_DATABASE_URL, no SET ROLE: the
database decides); render and publish run as the renderer. list, show and void need only
PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from billing import localservices
from billing.errors import BillingError
from billing.issued import InvoiceLine, IssuedInvoice, Status
from billing.money import (
    exact_amount,
    format_amount,
    format_money,
    format_places,
    format_quantity,
    format_unit_price,
)
from billing.periods import Period
from billing_cli.app import app, console, error_console
from billing_cli.options import OptionalMonth, database_url, settings
from billing_cli.output import (
    FormatOption,
    OutputFormat,
    fits,
    longest_word,
    print_records,
    table,
    tenant_label,
)
from finance.invoices import list_invoices, show_invoice, void_invoice
from invoice_renderer.publisher import publish_pending
from invoice_renderer.render import default_workers, render_pending
from invoice_renderer.wording import describe

invoices_app = typer.Typer(
    help="Issued invoices: list, show, void, render their PDFs and publish their events.",
    no_args_is_help=True,
)
app.add_typer(invoices_app, name="invoices")

Number = Annotated[str, typer.Argument(help="Invoice number INV-YYYYMM-NNNNNN.")]

LIST_COLUMNS = (
    "invoice_number",
    "tenant_id",
    "tenant_name",
    "period",
    "currency",
    "subtotal",
    "total",
    "line_count",
    "status",
    "issued_at",
    "replaces_invoice_number",
    "voided_at",
)
LINE_COLUMNS = (
    "line_number",
    "line_type",
    "description",
    "usage_period",
    "operator_id",
    "direction",
    "account_tier",
    "rule_id",
    "fee_id",
    "quantity",
    "unit_price",
    "amount",
)


def _record(invoice: IssuedInvoice) -> dict[str, Any]:
    return {
        "invoice_number": invoice.invoice_number,
        "tenant_id": str(invoice.tenant_id),
        "tenant_name": invoice.customer.name if invoice.customer else None,
        "period": invoice.period,
        "currency": invoice.currency,
        "subtotal": exact_amount(invoice.subtotal, invoice.currency),
        "total": exact_amount(invoice.total, invoice.currency),
        "line_count": invoice.line_count,
        "status": invoice.status.value,
        "issued_at": invoice.issued_at.isoformat(),
        "replaces_invoice_number": invoice.replaces_invoice_number,
        "voided_at": invoice.void.voided_at.isoformat() if invoice.void else None,
    }


def _line_record(line: InvoiceLine, currency: str) -> dict[str, Any]:
    return {
        "line_number": line.line_number,
        "line_type": line.line_type,
        "description": line.description,
        "usage_period": line.usage_period,
        "operator_id": line.operator_id,
        "direction": line.direction,
        "account_tier": line.account_tier,
        "rule_id": line.rule_id,
        "fee_id": line.fee_id,
        "quantity": str(line.quantity),
        "unit_price": format_unit_price(line.unit_price, currency, grouping=False),
        "amount": exact_amount(line.amount, currency),
    }


def _status(invoice: IssuedInvoice) -> str:
    return "[red]void[/]" if invoice.status is Status.VOID else "issued"


def _print_list(invoices: list[IssuedInvoice], month: Period | None) -> None:
    rows = table(f"Invoices of {month}" if month else "Invoices")
    rows.add_column("number", no_wrap=True)
    rows.add_column("tenant", ratio=1, min_width=len("(12345678)"))  # the short id whole
    if month is None:
        rows.add_column("period", no_wrap=True)
    rows.add_column("total", justify="right", no_wrap=True)
    rows.add_column("status", no_wrap=True)
    totals: dict[str, tuple[int, Decimal]] = {}
    for invoice in invoices:
        cells: list[RenderableType] = [
            invoice.invoice_number,
            Text(
                tenant_label(invoice.customer.name if invoice.customer else None, invoice.tenant_id)
            ),
            *([] if month else [invoice.period]),
            format_money(invoice.total, invoice.currency),
            _status(invoice),
        ]
        rows.add_row(*cells)
        if invoice.status is Status.ISSUED:
            count, amount = totals.get(invoice.currency, (0, Decimal("0")))
            totals[invoice.currency] = (count + 1, amount + invoice.total)
    console.print(rows)
    for invoice in invoices:
        if invoice.replaces_invoice_number:
            console.print(f"{invoice.invoice_number} replaces {invoice.replaces_invoice_number}")
    for currency, (count, amount) in sorted(totals.items()):
        console.print(
            f"{currency}: {count} issued invoice(s), {format_amount(amount, currency)} in total"
        )


@invoices_app.command("list")
def list_command(month: OptionalMonth = None, output: FormatOption = OutputFormat.TABLE) -> None:
    """Issued invoices in number order: tenant, total, status (issued | void), totals.

    --format csv or json prints every column (exact amounts, full tenant ids) for scripts.
    """
    invoices = list_invoices(database_url(), month)
    if output is not OutputFormat.TABLE:
        print_records([_record(invoice) for invoice in invoices], LIST_COLUMNS, output)
        return
    if not invoices:
        console.print(f"no issued invoices{f' of {month}' if month else ''}")
        return
    _print_list(invoices, month)


def _print_invoice(invoice: IssuedInvoice, detail: bool) -> None:
    name = invoice.customer.name if invoice.customer else "(issued without a bill-to)"
    console.print(f"[bold]{invoice.invoice_number}[/]  {_status(invoice)}")
    console.print(f"tenant    {name}  {invoice.tenant_id}", markup=False)
    console.print(f"period    {Period.parse(invoice.period).name} ({invoice.period})")
    console.print(f"issued    {invoice.issued_at:%Y-%m-%d %H:%M} UTC")
    if invoice.due_date is not None:
        console.print(f"due       {invoice.due_date:%Y-%m-%d} ({invoice.payment_terms_days} days)")
    if invoice.replaces_invoice_number:
        console.print(f"replaces  {invoice.replaces_invoice_number}")
    if invoice.void is not None:
        console.print(
            f"void      {invoice.void.voided_at:%Y-%m-%d %H:%M} UTC by {invoice.void.voided_by}"
            f" (replacement {invoice.void.replacement}): {invoice.void.reason}",
            markup=False,
        )
    if detail and invoice.catalogue_versions:
        versions = ", ".join(
            f"{seed} {checksum[:12]}"
            for seed, checksum in sorted(invoice.catalogue_versions.items())
        )
        console.print(f"catalogue {versions}", markup=False)
    places = invoice.minor_units
    # As on the customer's PDF by default; --detail: the issued text with its rule or fee id.
    descriptions = [
        line.description
        if detail
        else "\n".join(part for part in (text.description, text.detail) if part)
        for line, text in ((line, describe(line, invoice.lines, places)) for line in invoice.lines)
    ]
    rows = table()
    rows.add_column("#", justify="right", no_wrap=True)
    rows.add_column("description", min_width=longest_word(descriptions), ratio=1)
    if detail:
        rows.add_column("rule / fee", no_wrap=True)
    rows.add_column("quantity", justify="right", no_wrap=True)
    rows.add_column("unit price", justify="right", no_wrap=True)
    rows.add_column("amount", justify="right", no_wrap=True)
    for line, description in zip(invoice.lines, descriptions, strict=True):
        text = describe(line, invoice.lines, places)
        quantity = format_quantity(line.quantity) if detail else text.quantity
        rows.add_row(
            str(line.line_number),
            Text(description),
            *([line.rule_id or line.fee_id or ""] if detail else []),
            quantity,
            text.unit_price,
            text.amount,
        )
    if fits(rows):
        console.print(rows)
    else:  # too narrow for the columns: one block per line, nothing cut
        blocks = Table.grid(padding=(0, 2))
        blocks.add_column(justify="right", no_wrap=True)
        blocks.add_column(ratio=1)
        for line, description in zip(invoice.lines, descriptions, strict=True):
            text = describe(line, invoice.lines, places)
            reference = f" [{line.rule_id or line.fee_id}]" if detail else ""
            blocks.add_row(
                str(line.line_number),
                Text(
                    f"{description}{reference}\n{text.quantity} × {text.unit_price} = {text.amount}"
                ),
            )
        console.print(blocks)
    tax = invoice.tax.statement.lower() if invoice.tax else "no tax charged"
    console.print(
        f"subtotal {format_places(invoice.subtotal, places)} {invoice.currency}   "
        f"[bold]total {format_places(invoice.total, places)} {invoice.currency}[/]   ({tax})"
    )


@invoices_app.command("show")
def show_command(
    number: Number,
    output: FormatOption = OutputFormat.TABLE,
    detail: Annotated[
        bool,
        typer.Option(
            "--detail",
            help="Finance's view: the issued descriptions with their rule and fee ids, and the "
            "catalogue versions (default: the lines as the customer's PDF words them).",
        ),
    ] = False,
) -> None:
    """One invoice with its lines (--format json or csv: every column of every line)."""
    invoice = show_invoice(database_url(), number)
    if output is OutputFormat.TABLE:
        _print_invoice(invoice, detail)
    elif output is OutputFormat.JSON:
        record = _record(invoice)
        record["lines"] = [_line_record(line, invoice.currency) for line in invoice.lines]
        print_records([record], (), OutputFormat.JSON)
    else:
        print_records(
            [_line_record(line, invoice.currency) for line in invoice.lines],
            LINE_COLUMNS,
            output,
        )


@invoices_app.command("void")
def void_command(
    number: Number,
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
        database_url(), number, reason=reason, replacement_required=not no_replacement
    )
    console.print(
        f"[bold]{number} is void[/] (by {void.voided_by} at {void.voided_at:%Y-%m-%d %H:%M} UTC)."
    )
    if void.replacement == "required":
        period = Period(int(number[4:8]), int(number[8:10]))
        console.print(
            f"A replacement is required: the next `billing close --month {period}` issues it "
            "with the current catalogues."
        )
    else:
        console.print("No replacement will be issued.")


@invoices_app.command("render")
def render(
    month: OptionalMonth = None,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="Rendering processes (0: one per core).")
    ] = 0,
) -> None:
    """Render, store and record the PDF of every issued invoice that has none yet.

    Voided invoices also get their void notice (NUMBER-void.pdf); originals are never
    touched. Each invoice's billing.invoice.generated event is queued in the outbox with its
    document; `billing invoices publish` sends them. Needs only PostgreSQL (and the store).
    """
    current = settings()
    url = database_url(current)
    count = workers or default_workers()
    with Progress(
        TextColumn("[bold]rendering[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # nothing in a pipe or a log
    ) as progress:
        task = progress.add_task("render", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = render_pending(current, url, month.label if month else None, count, advance)
    if not report.pending:
        console.print("nothing to render: every issued invoice and void has its document")
        return
    console.print(
        f"{report.recorded} document(s) recorded ({report.stored} stored, "
        f"{report.already_stored} found already stored), {report.events} event(s) queued, "
        f"{report.copies} JSON/CSV copies stored, "
        f"{report.seconds:.1f} s with {report.workers} worker(s), "
        f"{report.per_second:.1f} documents/s"
    )
    if report.failures:
        for failure in report.failures:
            error_console.print(
                f"failed: {failure.document}: {failure.reason}", markup=False, soft_wrap=True
            )
        raise BillingError(
            f"{len(report.failures)} document(s) not rendered; fix the cause and run "
            "`billing invoices render` again (done documents are kept)"
        )


@invoices_app.command("publish")
def publish() -> None:
    """Send the outbox's unpublished billing.invoice.generated events to NATS, once each."""
    current = settings()
    endpoints = localservices.resolve_endpoints(current)
    report = publish_pending(current, endpoints.database_url, endpoints.nats_url)
    if not report.pending:
        console.print("nothing to publish: the outbox is empty")
        return
    console.print(
        f"{report.marked} event(s) published: {report.published} sent "
        f"({report.duplicates} dropped by JetStream as duplicates), "
        f"{report.found_in_stream} already in the stream from an interrupted run"
    )
