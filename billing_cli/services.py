"""`billing services up | down | status`: the embedded PostgreSQL and NATS under .billing/."""

from __future__ import annotations

import typer

from billing import db, localservices
from billing_cli.app import app, console
from billing_cli.options import settings

services_app = typer.Typer(
    help="The embedded PostgreSQL and NATS (JetStream) for local use: up, down, status.",
    no_args_is_help=True,
)
app.add_typer(services_app, name="services")


@services_app.command("up")
def up() -> None:
    """Start embedded PostgreSQL and NATS under .billing/ and migrate the schema.

    With BILLING_DATABASE_URL and BILLING_NATS_URL set, uses those servers instead (and
    migrates the database).
    """
    current = settings()
    if current.database_url and current.nats_url:
        console.print("BILLING_DATABASE_URL and BILLING_NATS_URL are set: using those servers.")
    else:
        state = localservices.start(current.state_dir)
        console.print(f"PostgreSQL  {state.database_url}")
        console.print(f"NATS        {state.nats_url}")
    applied = db.migrate(localservices.resolve_database_url(current))
    console.print(f"migrations  {', '.join(applied) if applied else 'up to date'}")


@services_app.command("down")
def down() -> None:
    """Stop the embedded services (the data stays under .billing/)."""
    if localservices.stop(settings().state_dir):
        console.print("embedded PostgreSQL and NATS stopped")
    else:
        console.print("no embedded services were running")


@services_app.command("status")
def status() -> None:
    """Where the database and NATS are, and whether they run."""
    for name, state in localservices.status(settings().state_dir).items():
        console.print(f"{name:<10} {state}")
