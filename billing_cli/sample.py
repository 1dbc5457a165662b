"""`billing sample reference`: sample accounts and tiers (events: `events publish-sample`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from billing.periods import Period
from billing_cli.app import app, console
from billing_cli.options import parse_month
from producers import sample

SAMPLE_MONTH = Period(2026, 10)  # the month of samples/*.csv

sample_app = typer.Typer(
    help="Sample data for demos and benchmarks: reference CSVs "
    "(sample events: `billing events publish-sample`).",
    no_args_is_help=True,
)
app.add_typer(sample_app, name="sample")


@sample_app.command("reference")
def reference(
    out: Annotated[
        Path, typer.Option(help="Folder to write accounts.csv and account_tiers.csv to.")
    ],
    tenants: Annotated[int, typer.Option(min=1, help="Sample tenants 0..T-1.")] = 50,
    month: Annotated[
        Period,
        typer.Option(
            parser=parse_month,
            metavar="YYYY-MM",
            help="The month the special cases fall in.",
        ),
    ] = SAMPLE_MONTH,
    seed: Annotated[int, typer.Option(help="Seed of the generator.")] = 0,
) -> None:
    """Write sample accounts.csv and account_tiers.csv (the ones in samples/: 50, 2026-10).

    Needs no server.
    """
    accounts_path, tiers_path = sample.write_reference_csvs(
        sample.sample_accounts(tenants, month.start, seed), out
    )
    console.print(f"wrote {accounts_path} and {tiers_path}")
