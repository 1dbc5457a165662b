"""`billing accounts import`, `billing tiers import`, `billing sample reference`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import psycopg
import typer

from billing import localservices
from billing.errors import ConfigurationError
from billing.settings import load_settings
from billing_cli.app import app, console
from billing_cli.groups import sample_app
from finance import reference
from finance.reference import ImportReport
from producers import sample

accounts_app = typer.Typer(help="Tenant accounts (ref.accounts).", no_args_is_help=True)
tiers_app = typer.Typer(help="Account tier history (ref.account_tiers).", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(tiers_app, name="tiers")

CsvFile = Annotated[Path, typer.Argument(help="The CSV file.", exists=True, dir_okay=False)]


def _print(report: ImportReport) -> None:
    console.print(
        f"{report.table}: {report.rows} row(s) in the file — {report.inserted} inserted, "
        f"{report.updated} updated, {report.unchanged} unchanged"
    )


def _database_url() -> str:
    return localservices.resolve_endpoints(load_settings()).database_url


@accounts_app.command("import")
def import_accounts(file: CsvFile) -> None:
    """Upsert accounts: tenant_id,name,currency,billing_email,activated_on,deactivated_on.

    All or nothing: a bad row refuses the file with its line and column.
    """
    with psycopg.connect(_database_url()) as conn:
        _print(reference.import_accounts(conn, file))


@tiers_app.command("import")
def import_tiers(file: CsvFile) -> None:
    """Upsert tier history: tenant_id,account_tier,effective_from (accounts must exist).

    All or nothing: a bad row refuses the file with its line and column.
    """
    with psycopg.connect(_database_url()) as conn:
        _print(reference.import_tiers(conn, file))


@sample_app.command("reference")
def sample_reference(
    out: Annotated[
        Path, typer.Option(help="Folder to write accounts.csv and account_tiers.csv to.")
    ],
    tenants: Annotated[int, typer.Option(help="Sample tenants 0..T-1.")] = 50,
    month: Annotated[
        str, typer.Option(help="The month the special cases fall in, YYYY-MM.")
    ] = "2026-10",
    seed: Annotated[int, typer.Option(help="Seed of the generator.")] = 0,
) -> None:
    """Write sample accounts.csv and account_tiers.csv (the ones in samples/: 50, 2026-10)."""
    try:
        first = sample.parse_month(month)
    except ValueError as error:
        raise ConfigurationError(f"--month: {error}") from None
    if tenants < 1:
        raise ConfigurationError("--tenants must be at least 1")
    accounts_path, tiers_path = sample.write_reference_csvs(
        sample.sample_accounts(tenants, first, seed), out
    )
    console.print(f"wrote {accounts_path} and {tiers_path}")
