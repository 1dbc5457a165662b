"""`billing events exclude | include`: Finance's exclusions of landed events (issue 18).

Run as the caller's own login (BILLING_DATABASE_URL of the person, like `billing invoices
void`): the database allows members of billing_finance only and records who did it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer

from billing_cli.app import console
from billing_cli.events import events_app
from billing_cli.options import database_url
from finance.exclusions import (
    ExclusionAction,
    ExclusionRefusedError,
    parse_event_ids,
    read_event_id_file,
    record,
)

EventIds = Annotated[
    list[str] | None, typer.Argument(help="Event ids (UUIDs) as landed.", show_default=False)
]
IdFile = Annotated[
    Path | None,
    typer.Option(
        "--file",
        help="A file of event ids, one per line (blank lines and # comments skipped).",
        dir_okay=False,
    ),
]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept for audit).")]


def _event_ids(event_ids: list[str] | None, file: Path | None) -> list[uuid.UUID]:
    given = parse_event_ids(event_ids or [])
    if file is not None:
        given += [i for i in read_event_id_file(file) if i not in set(given)]
    if not given:
        raise ExclusionRefusedError("no event id given: list them, or give --file PATH")
    return given


def _append(action: ExclusionAction, ids: list[uuid.UUID], reason: str) -> None:
    receipt = record(database_url(), action, ids, reason=reason)
    done = "excluded" if action is ExclusionAction.EXCLUDE else "no longer excluded"
    console.print(
        f"[bold]{len(receipt.event_ids)} event(s) {done}[/] (by {receipt.recorded_by} at "
        f"{receipt.recorded_at:%Y-%m-%d %H:%M} UTC). The next `billing close` "
        + (
            "neither prices nor bills them; they no longer block a close."
            if action is ExclusionAction.EXCLUDE
            else "prices them again (unpriced events block a close)."
        )
    )


@events_app.command("exclude")
def exclude(reason: Reason, event_ids: EventIds = None, file: IdFile = None) -> None:
    """Exclude landed events from billing, as your own login (Finance only).

    Excluded events are never priced or billed and never block a close; the ledger shows
    them as `excluded`. All or nothing: an unknown id, an event excluded already or billed on
    an invoice that is not void refuses the whole list (exit 2). Needs only PostgreSQL.
    """
    _append(ExclusionAction.EXCLUDE, _event_ids(event_ids, file), reason)


@events_app.command("include")
def include(reason: Reason, event_ids: EventIds = None, file: IdFile = None) -> None:
    """Revoke the exclusion of events (a new row; nothing is deleted), Finance only."""
    _append(ExclusionAction.INCLUDE, _event_ids(event_ids, file), reason)
