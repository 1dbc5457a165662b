"""`billing invoices render | publish`: invoice PDFs and their billing.invoice.generated events."""

from __future__ import annotations

import re

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from billing import localservices
from billing.settings import load_settings
from billing_cli.app import EXIT_FAILED, console, error_console
from billing_cli.groups import invoices_app
from invoice_renderer.publisher import publish_pending
from invoice_renderer.render import default_workers, render_pending

_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def _month(value: str | None) -> str | None:
    if value is not None and not _MONTH.match(value):
        raise typer.BadParameter(f"{value!r} is not a month: use YYYY-MM, e.g. 2026-10")
    return value


@invoices_app.command("render")
def render(
    month: str | None = typer.Option(
        None,
        "--month",
        callback=_month,
        help="Only invoices of this billing period (YYYY-MM). Default: every pending one.",
    ),
    workers: int = typer.Option(
        0, "--workers", min=0, help="Rendering processes (0: one per core)."
    ),
) -> None:
    """Render, store and record the PDF of every issued invoice that has none yet.

    Voided invoices also get their void notice (NUMBER-void.pdf); originals are never
    touched. Each invoice's billing.invoice.generated event is queued in the outbox with its
    document; `billing invoices publish` sends them.
    """
    settings = load_settings()
    endpoints = localservices.resolve_endpoints(settings)
    count = workers or default_workers()
    with Progress(
        TextColumn("[bold]rendering[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("render", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = render_pending(settings, endpoints.database_url, month, count, advance)
    if not report.pending:
        console.print("nothing to render: every issued invoice and void has its document")
        return
    console.print(
        f"{report.recorded} document(s) recorded ({report.stored} stored, "
        f"{report.already_stored} found already stored), {report.events} event(s) queued, "
        f"{report.seconds:.1f} s with {report.workers} worker(s), "
        f"{report.per_second:.1f} documents/s"
    )
    if report.failures:
        for failure in report.failures:
            error_console.print(f"[bold red]failed:[/] {failure.document}: {failure.reason}")
        error_console.print(
            f"{len(report.failures)} document(s) not rendered; fix the cause and run "
            "`billing invoices render` again (done documents are kept)"
        )
        raise typer.Exit(EXIT_FAILED)


@invoices_app.command("publish")
def publish() -> None:
    """Send the outbox's unpublished billing.invoice.generated events to NATS, once each."""
    settings = load_settings()
    endpoints = localservices.resolve_endpoints(settings)
    report = publish_pending(settings, endpoints.database_url, endpoints.nats_url)
    if not report.pending:
        console.print("nothing to publish: the outbox is empty")
        return
    console.print(
        f"{report.marked} event(s) published: {report.published} sent "
        f"({report.duplicates} dropped by JetStream as duplicates), "
        f"{report.found_in_stream} already in the stream from an interrupted run"
    )
