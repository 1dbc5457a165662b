"""`billing ui`: the Dagster UI (assets, lineage, checks, run history) on the local data."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Annotated

import typer

from billing import localservices
from billing.settings import PROJECT_ROOT
from billing_cli.app import EXIT_FAILED, app, console
from billing_cli.options import settings


@app.command()
def ui(
    port: Annotated[
        int | None, typer.Option(min=1, max=65_535, help="Port of the UI (default: a free one).")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Start the Dagster UI (assets, lineage, checks, run history) on the local data."""
    from orchestration.closing import dagster_instance

    current = settings()
    dagster_instance(current)  # creates DAGSTER_HOME and its dagster.yaml on first use
    port = port or localservices.free_port()
    webserver = os.path.join(sys.prefix, "bin", "dagster-webserver")
    command = [
        webserver if os.path.exists(webserver) else "dagster-webserver",
        "-h",
        host,
        "-p",
        str(port),
        "-m",
        "orchestration.definitions",
        "-d",
        str(PROJECT_ROOT),
    ]
    environment = {**os.environ, "DAGSTER_HOME": str(current.dagster_home)}
    console.print(f"Dagster UI on http://{host}:{port} (Ctrl-C to stop)")
    process = subprocess.Popen(command, env=environment, cwd=PROJECT_ROOT)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        code = process.wait(timeout=20)
    if code not in (0, -15):
        raise typer.Exit(EXIT_FAILED)
