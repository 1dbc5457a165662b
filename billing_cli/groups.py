"""Subcommand groups that several command modules share (nouns of `billing NOUN VERB`).

Each group is created here once and added to the app; command modules import it and
register their verbs on it.
"""

from __future__ import annotations

import typer

from billing_cli.app import app

invoices_app = typer.Typer(
    help="Issued invoices: list, show, void, render their PDFs and publish their events.",
    no_args_is_help=True,
)
app.add_typer(invoices_app, name="invoices")

sample_app = typer.Typer(
    help="Sample data for demos and benchmarks: reference CSVs (events: `billing publish-sample`).",
    no_args_is_help=True,
)
app.add_typer(sample_app, name="sample")
