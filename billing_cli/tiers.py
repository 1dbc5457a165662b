"""`billing tiers import`: the account tier history (ref.account_tiers) from a CSV file."""

from __future__ import annotations

import typer

from billing import db
from billing_cli.accounts import CsvFile, print_import
from billing_cli.app import app
from billing_cli.options import database_url
from finance.reference import import_tiers

tiers_app = typer.Typer(
    help="Account tier history (ref.account_tiers): import.", no_args_is_help=True
)
app.add_typer(tiers_app, name="tiers")


@tiers_app.command("import")
def import_command(file: CsvFile) -> None:
    """Upsert tier history: tenant_id,account_tier,effective_from (accounts must exist).

    All or nothing: a bad row refuses the file with its line and column (exit 2). Needs only
    PostgreSQL.
    """
    with db.connect(database_url()) as conn:
        print_import(import_tiers(conn, file))
