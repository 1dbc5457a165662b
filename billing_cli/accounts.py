"""`billing accounts import`: tenant accounts (ref.accounts) from a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from billing import db
from billing_cli.app import app, console
from billing_cli.options import database_url
from finance.reference import ImportReport, import_accounts

accounts_app = typer.Typer(help="Tenant accounts (ref.accounts): import.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")

CsvFile = Annotated[Path, typer.Argument(help="The CSV file.", exists=True, dir_okay=False)]


def print_import(report: ImportReport) -> None:
    console.print(
        f"{report.table}: {report.rows} row(s) in the file — {report.inserted} inserted, "
        f"{report.updated} updated, {report.unchanged} unchanged"
    )


@accounts_app.command("import")
def import_command(file: CsvFile) -> None:
    """Upsert accounts: tenant_id,name,currency,billing_email,activated_on,deactivated_on.

    All or nothing: a bad row refuses the file with its line and column (exit 2). Needs only
    PostgreSQL.
    """
    with db.connect(database_url()) as conn:
        print_import(import_accounts(conn, file))
