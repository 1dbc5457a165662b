"""`billing ledger --month YYYY-MM`: every event's fate, and whether the month reconciles."""

from __future__ import annotations

from typing import Annotated

import typer

from billing import db
from billing.roles import Role
from billing_cli.app import EXIT_FAILED, app, console, print_error
from billing_cli.options import Month, database_url, settings
from billing_cli.output import table
from finance.ledger import Fate, Reconciliation, event_ids, reconcile


def _print(reconciliation: Reconciliation) -> None:
    rows = table(f"Event ledger of {reconciliation.period}")
    for column in ("fate", "messages", "events"):
        rows.add_column(column, justify="left" if column == "fate" else "right")
    for fate in Fate:
        count = reconciliation.messages.get(fate, 0)
        if count:
            rows.add_row(fate.value, f"{count:,}", f"{reconciliation.events.get(fate, 0):,}")
    console.print(rows)
    console.print(reconciliation.line())


@app.command()
def ledger(
    month: Month,
    fate: Annotated[
        Fate | None,
        typer.Option("--fate", help="With --ids: the fate whose event ids to list."),
    ] = None,
    ids: Annotated[
        bool,
        typer.Option(
            "--ids",
            help="Print the month's event ids of --fate, one per line (for `billing events "
            "exclude --file`).",
        ),
    ] = False,
) -> None:
    """Reconcile a month's events: stream sequences = landed + rejected; landed distinct =
    priced + unpriced + excluded; priced = invoiced + late + pending + written off; invoice
    totals tie to their lines and line quantities to their events.

    Exit 0 when it reconciles, 1 when it does not (the line says what is off). Reads
    billing.event_ledger as Finance; needs only PostgreSQL.
    """
    current = settings()
    url, role = db.role_url(current, database_url(current), Role.FINANCE)
    with db.connect(url, role=role) as conn:
        if ids:
            if fate is None:
                raise typer.BadParameter("--ids needs --fate (e.g. --fate unpriced)")
            for event_id in event_ids(conn, month, fate):
                console.print(event_id)
            return
        reconciliation = reconcile(conn, month)
    _print(reconciliation)
    if not reconciliation.reconciles:
        print_error(
            "; ".join(reconciliation.problems)
            + ": see docs/operations.md (reading the reconciliation)",
            label=f"the ledger of {month} does not reconcile",
        )
        raise typer.Exit(EXIT_FAILED)
