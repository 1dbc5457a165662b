"""`billing load | publish | publish-sample`: charge events to NATS, and NATS to PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvloop
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from billing import localservices
from billing.errors import ConfigurationError, PublishError
from billing.settings import CHARGE_SUBJECT, load_settings
from billing_cli.app import app, console, error_console
from loader.service import Loader, LoaderConfig
from producers import sample
from producers.publish import DEFAULT_MAX_IN_FLIGHT, PublishReport, publish_payloads, read_lines

DEFAULT_METRICS_PORT = 9464
T = TypeVar("T")


def _run(make: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await make()

    return uvloop.run(main())


@app.command()
def load(
    until_idle: Annotated[
        bool,
        typer.Option(
            "--until-idle", help="Exit once caught up (nothing pending for a quiet period)."
        ),
    ] = False,
    metrics_port: Annotated[
        int, typer.Option(help="Port of /metrics and /health/*; 0 picks a free one.")
    ] = DEFAULT_METRICS_PORT,
    metrics_host: Annotated[
        str, typer.Option(help="Address to serve them on (0.0.0.0 in a container).")
    ] = "127.0.0.1",
    batch_size: Annotated[
        int, typer.Option(help="Messages per batch (commit) at most, when behind.")
    ] = 5_000,
    idle_seconds: Annotated[
        float, typer.Option(help="With --until-idle: how long nothing must arrive.")
    ] = 1.0,
) -> None:
    """Land charge events from stream BILLING into raw.message_charged, exactly once.

    Runs until SIGTERM/SIGINT (it then finishes the batch in hand, commits and acknowledges),
    or with --until-idle until it has caught up.
    """
    if batch_size < 1 or idle_seconds <= 0:
        raise ConfigurationError("--batch-size must be at least 1 and --idle-seconds positive")
    logging.basicConfig(
        level=logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=error_console, show_path=False)],
    )
    settings = load_settings()
    config = LoaderConfig.from_settings(
        settings,
        localservices.resolve_endpoints(settings),
        until_idle=until_idle,
        idle_seconds=idle_seconds,
        batch_size=batch_size,
        max_ack_pending=max(4 * batch_size, 20_000),
        http_host=metrics_host,
        http_port=metrics_port,
        handle_signals=True,
    )
    loader = Loader(config)
    summary = _run(loader.run)
    table = Table(title=f"loader {summary.consumer}", show_header=False)
    table.add_row("loaded", f"{summary.loaded:,}")
    table.add_row("rejected", f"{summary.rejected:,}")
    table.add_row("duplicates skipped", f"{summary.duplicates:,}")
    table.add_row("batches", f"{summary.batches:,}")
    table.add_row("high-water mark", f"{summary.high_water:,}")
    table.add_row("seconds", f"{summary.seconds:.1f}")
    console.print(table)


def _print_report(report: PublishReport) -> None:
    table = Table(title="publish", show_header=False)
    table.add_row("published", f"{report.sent:,}")
    table.add_row("stored", f"{report.stored:,}")
    table.add_row("duplicates (dropped by the server)", f"{report.duplicates:,}")
    table.add_row("without Nats-Msg-Id (no event_id)", f"{report.without_msg_id:,}")
    table.add_row("failed", f"{report.failed:,}")
    table.add_row("unacknowledged", f"{report.unacknowledged:,}")
    table.add_row("blank lines skipped", f"{report.skipped_blank:,}")
    rate = report.sent / report.seconds if report.seconds else 0.0
    table.add_row("rate", f"{rate:,.0f} messages/s")
    console.print(table)
    for error in report.errors:
        error_console.print(f"[red]{error}[/]")
    if report.failed or report.unacknowledged:
        raise PublishError(
            f"{report.failed + report.unacknowledged} message(s) not stored: see the errors "
            "above; fix them and publish those lines again (a re-publish inside the duplicate "
            "window is dropped by the server, after it staging deduplicates by event_id)"
        )


def _publish(
    payloads: Iterable[bytes],
    total: int | None,
    subject: str,
    max_in_flight: int,
    with_msg_id: bool,
) -> PublishReport:
    settings = load_settings()
    endpoints = localservices.resolve_endpoints(settings)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("publishing", total=total)
        return _run(
            lambda: publish_payloads(
                endpoints.nats_url,
                payloads,
                subject=subject,
                duplicate_window_seconds=settings.duplicate_window_seconds,
                max_in_flight=max_in_flight,
                with_msg_id=with_msg_id,
                on_progress=lambda done: progress.advance(task, done),
            )
        )


@app.command()
def publish(
    file: Annotated[
        Path,
        typer.Argument(help="JSON Lines file: one event per line.", exists=True, dir_okay=False),
    ],
    subject: Annotated[str, typer.Option(help="Subject to publish on.")] = CHARGE_SUBJECT,
    no_msg_id: Annotated[
        bool,
        typer.Option("--no-msg-id", help="Do not set Nats-Msg-Id (no server-side deduplication)."),
    ] = False,
    max_in_flight: Annotated[
        int, typer.Option(help="Publishes awaiting their ack at most.")
    ] = DEFAULT_MAX_IN_FLIGHT,
) -> None:
    """Publish each line of FILE as it is; Nats-Msg-Id = its event_id when it has one."""
    with file.open("rb") as handle:
        total = sum(1 for _ in handle)
    report = _publish(read_lines(file), total, subject, max_in_flight, not no_msg_id)
    _print_report(report)


@app.command("publish-sample")
def publish_sample(
    month: Annotated[str, typer.Option(help="Month of the events, YYYY-MM.")],
    events: Annotated[int, typer.Option(help="How many messages to publish.")] = 10_000,
    tenants: Annotated[
        int, typer.Option(help="Sample tenants 0..T-1 (as in `billing sample reference`).")
    ] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the generator (same seed, same events).")] = 0,
    duplicate_rate: Annotated[
        float, typer.Option(help="Share of messages that re-publish an earlier event.")
    ] = sample.DUPLICATE_RATE,
) -> None:
    """Publish realistic sample charge events for a month (matching the sample accounts)."""
    try:
        first = sample.parse_month(month)
    except ValueError as error:
        raise ConfigurationError(f"--month: {error}") from None
    if events < 0 or tenants < 1:
        raise ConfigurationError("--events must be >= 0 and --tenants >= 1")
    payloads = sample.sample_events(first, events, tenants, seed, duplicate_rate)
    report = _publish(payloads, events, CHARGE_SUBJECT, DEFAULT_MAX_IN_FLIGHT, True)
    _print_report(report)
