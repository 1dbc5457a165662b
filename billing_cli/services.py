"""`billing up | down | status | migrate`: the embedded local services and the schema."""

from __future__ import annotations

from billing import db, localservices
from billing.settings import load_settings
from billing_cli.app import app, console


@app.command()
def up() -> None:
    """Start embedded PostgreSQL and NATS (JetStream) under .billing/ and migrate the schema."""
    settings = load_settings()
    if settings.database_url and settings.nats_url:
        console.print("BILLING_DATABASE_URL and BILLING_NATS_URL are set: using those servers.")
    else:
        state = localservices.start(settings.state_dir)
        console.print(f"PostgreSQL  {state.database_url}")
        console.print(f"NATS        {state.nats_url}")
    endpoints = localservices.resolve_endpoints(settings)
    applied = db.migrate(endpoints.database_url)
    console.print(f"migrations  {', '.join(applied) if applied else 'up to date'}")


@app.command()
def down() -> None:
    """Stop the embedded services (data stays under .billing/)."""
    settings = load_settings()
    if localservices.stop(settings.state_dir):
        console.print("embedded PostgreSQL and NATS stopped")
    else:
        console.print("no embedded services were running")


@app.command()
def status() -> None:
    """Show where the database and NATS are."""
    settings = load_settings()
    for name, state in localservices.status(settings.state_dir).items():
        console.print(f"{name:<10} {state}")


@app.command()
def migrate() -> None:
    """Apply pending database migrations (idempotent)."""
    endpoints = localservices.resolve_endpoints(load_settings())
    applied = db.migrate(endpoints.database_url)
    console.print(f"migrations  {', '.join(applied) if applied else 'up to date'}")
