"""`billing docs [--port N] [--no-serve]`: the pricing SQL, browsable (the dbt docs site)."""

from __future__ import annotations

from typing import Annotated

import typer

from billing import localservices
from billing_cli.app import app, console
from billing_cli.options import database_url, settings
from warehouse.docs import docs_server, generate_docs


@app.command()
def docs(
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65_535, help="Port of the site (default: a free one)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the site after building it.")
    ] = True,
) -> None:
    """Build the dbt docs site (models, columns, tests, exposures, the lineage of every mart
    back to the raw events and the catalogues) from the warehouse, and serve it locally."""
    current = settings()
    site = current.state_dir / "dbt-docs"
    console.print("building the dbt docs site (dbt docs generate)…")
    index = generate_docs(database_url(current), site)
    if not serve:
        console.print(f"wrote {index}")
        return
    port = port or localservices.free_port()
    server = docs_server(site, host, port)
    console.print(f"dbt docs on http://{host}:{port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
