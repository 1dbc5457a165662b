"""`billing db migrate`: the versioned schema (roles, raw, ref, issued tables, security)."""

from __future__ import annotations

import typer

from billing import db
from billing_cli.app import app, console
from billing_cli.options import database_url

db_app = typer.Typer(help="The database schema: migrate.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("migrate")
def migrate() -> None:
    """Apply pending migrations, each in one transaction (idempotent; needs only PostgreSQL)."""
    applied = db.migrate(database_url())
    console.print(f"migrations  {', '.join(applied) if applied else 'up to date'}")
