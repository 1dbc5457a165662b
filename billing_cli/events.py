"""`billing events publish | publish-sample | load`: charge events to NATS, NATS to PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvloop
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from billing import localservices
from billing.errors import ConfigurationError
from billing.settings import CHARGE_SUBJECT
from billing_cli.app import app, console, error_console
from billing_cli.options import Month, nats_url, settings
from billing_cli.output import table
from loader.http import MAX_PORT
from loader.service import Loader, LoaderConfig, LoaderSummary
from producers import sample
from producers.publish import (
    DEFAULT_MAX_IN_FLIGHT,
    ChargePublishReport,
    PublishError,
    publish_payloads,
    read_lines,
)

DEFAULT_METRICS_PORT = 9464
T = TypeVar("T")

events_app = typer.Typer(
    help="Charge events: publish them to stream BILLING, and load them into raw tables.",
    no_args_is_help=True,
)
app.add_typer(events_app, name="events")


def _run(make: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await make()

    return uvloop.run(main())


def _print_summary(summary: LoaderSummary) -> None:
    rows = table(f"loader {summary.consumer}")
    rows.add_column("")
    rows.add_column("", justify="right")
    rows.show_header = False
    rows.add_row("loaded", f"{summary.loaded:,}")
    rows.add_row("rejected", f"{summary.rejected:,}")
    rows.add_row("duplicates skipped", f"{summary.duplicates:,}")
    rows.add_row("batches", f"{summary.batches:,}")
    rows.add_row("high-water mark", f"{summary.high_water:,}")
    rows.add_row("seconds", f"{summary.seconds:.1f}")
    console.print(rows)


@events_app.command("load")
def load(
    until_idle: Annotated[
        bool,
        typer.Option(
            "--until-idle", help="Exit once caught up (nothing pending for a quiet period)."
        ),
    ] = False,
    metrics_port: Annotated[
        int,
        typer.Option(
            min=0, max=MAX_PORT, help="Port of /metrics and /health/*; 0 picks a free one."
        ),
    ] = DEFAULT_METRICS_PORT,
    metrics_host: Annotated[
        str, typer.Option(help="Address to serve them on (0.0.0.0 in a container).")
    ] = "127.0.0.1",
    batch_size: Annotated[
        int, typer.Option(min=1, help="Messages per batch (commit) at most, when behind.")
    ] = 5_000,
    idle_seconds: Annotated[
        float, typer.Option(help="With --until-idle: how long nothing must arrive.")
    ] = 1.0,
    outage_wait: Annotated[
        float,
        typer.Option(
            help="With --until-idle: seconds NATS or PostgreSQL may stay unreachable before "
            "the loader gives up (exit 1). Without it the loader waits for as long as it takes."
        ),
    ] = 30.0,
) -> None:
    """Land charge events from stream BILLING into raw.message_charged, exactly once.

    Runs until SIGTERM/SIGINT (it then finishes the batch in hand, commits and acknowledges),
    or with --until-idle until it has caught up. A server that cannot be reached at the start
    is reported within seconds (exit 1), never waited for forever. Once started, outages of
    PostgreSQL or NATS are ridden out (reconnecting with backoff; /health/ready says 503).
    """
    if idle_seconds <= 0:
        raise ConfigurationError(f"--idle-seconds must be positive, not {idle_seconds:g}")
    if outage_wait <= 0:
        raise ConfigurationError(f"--outage-wait must be positive, not {outage_wait:g}")
    logging.basicConfig(
        level=logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=error_console, show_path=False)],
    )
    current = settings()
    config = LoaderConfig.from_settings(
        current,
        localservices.resolve_endpoints(current),
        until_idle=until_idle,
        idle_seconds=idle_seconds,
        outage_wait_seconds=outage_wait,
        batch_size=batch_size,
        max_ack_pending=max(4 * batch_size, 20_000),
        http_host=metrics_host,
        http_port=metrics_port,
        handle_signals=True,
    )
    _print_summary(_run(Loader(config).run))


def _print_report(report: ChargePublishReport) -> None:
    rows = table("publish")
    rows.add_column("")
    rows.add_column("", justify="right")
    rows.show_header = False
    rows.add_row("published", f"{report.sent:,}")
    rows.add_row("stored", f"{report.stored:,}")
    rows.add_row("duplicates (dropped by the server)", f"{report.duplicates:,}")
    rows.add_row("without Nats-Msg-Id (no event_id)", f"{report.without_msg_id:,}")
    rows.add_row("failed", f"{report.failed:,}")
    rows.add_row("unacknowledged", f"{report.unacknowledged:,}")
    rows.add_row("blank lines skipped", f"{report.skipped_blank:,}")
    rate = report.sent / report.seconds if report.seconds else 0.0
    rows.add_row("rate", f"{rate:,.0f} messages/s")
    console.print(rows)
    for error in report.errors:
        error_console.print(error, style="red", markup=False, highlight=False, soft_wrap=True)
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
) -> ChargePublishReport:
    current = settings()
    url = nats_url(current)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # nothing in a pipe or a log
    ) as progress:
        task = progress.add_task("publishing", total=total)
        return _run(
            lambda: publish_payloads(
                url,
                payloads,
                subject=subject,
                duplicate_window_seconds=current.duplicate_window_seconds,
                max_in_flight=max_in_flight,
                with_msg_id=with_msg_id,
                on_progress=lambda done: progress.advance(task, done),
            )
        )


@events_app.command("publish")
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
        int, typer.Option(min=1, help="Publishes awaiting their ack at most.")
    ] = DEFAULT_MAX_IN_FLIGHT,
) -> None:
    """Publish each line of FILE as it is; Nats-Msg-Id = its event_id when it has one."""
    with file.open("rb") as handle:
        total = sum(1 for _ in handle)
    _print_report(_publish(read_lines(file), total, subject, max_in_flight, not no_msg_id))


@events_app.command("publish-sample")
def publish_sample(
    month: Month,
    events: Annotated[int, typer.Option(min=0, help="How many messages to publish.")] = 10_000,
    tenants: Annotated[
        int,
        typer.Option(min=1, help="Sample tenants 0..T-1 (as in `billing sample reference`)."),
    ] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the generator (same seed, same events).")] = 0,
    duplicate_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of messages that re-publish an earlier event."),
    ] = sample.DUPLICATE_RATE,
) -> None:
    """Publish realistic sample charge events for a month (matching the sample accounts)."""
    payloads = sample.sample_events(month.start, events, tenants, seed, duplicate_rate)
    _print_report(_publish(payloads, events, CHARGE_SUBJECT, DEFAULT_MAX_IN_FLIGHT, True))
