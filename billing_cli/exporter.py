"""`billing exporter`: the warehouse-side metrics on /metrics, refreshed on an interval."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvloop
from rich.logging import RichHandler

from billing.health import MAX_PORT
from billing_cli.app import app, console, error_console
from billing_cli.options import settings
from exporter.service import Exporter, ExporterConfig

DEFAULT_EXPORTER_PORT = 9465


@app.command("exporter")
def exporter(
    metrics_port: Annotated[
        int,
        typer.Option(
            min=0, max=MAX_PORT, help="Port of /metrics and /health/*; 0 picks a free one."
        ),
    ] = DEFAULT_EXPORTER_PORT,
    metrics_host: Annotated[
        str, typer.Option(help="Address to serve them on (0.0.0.0 in a container).")
    ] = "127.0.0.1",
    refresh_seconds: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Seconds between two reads of PostgreSQL (default "
            "BILLING_EXPORTER_REFRESH_SECONDS, 30).",
        ),
    ] = None,
) -> None:
    """Serve the warehouse-side metrics (unpriced events, margins, invoices, close runs,
    outbox) read from PostgreSQL as the auditor, one cheap query each per refresh.

    Runs until SIGTERM/SIGINT. A scrape never queries the database: it serves the last
    refresh. A database unreachable at the start is reported within seconds (exit 1).
    """
    logging.basicConfig(
        level=logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=error_console, show_path=False)],
    )
    current = settings()
    if refresh_seconds is not None:
        current = current.with_overrides(exporter_refresh_seconds=refresh_seconds)
    config = ExporterConfig.from_settings(
        current,
        http_host=metrics_host,
        http_port=metrics_port,
        handle_signals=True,
    )
    refreshes = uvloop.run(Exporter(config).run())
    console.print(f"exporter stopped after {refreshes} refresh(es)")
