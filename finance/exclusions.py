"""Finance's exclusions of landed events (billing.event_exclusions, issue 18).

An event that passed the contract but can never be billed (an unknown tenant or operator, an
event of 1970) is excluded rather than "fixed" by inventing reference data that would bill it.
Like voids, exclusions run on the caller's own connection (never SET ROLE, never an owner URL
chosen for them): the database decides (column grants, forced row-level security, a trigger),
and records the caller's login as excluded_by. Nothing is deleted: a revocation is a new row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors

from billing.errors import PermissionRefusedError, RefusedError


class ExclusionAction(StrEnum):
    """What a row of billing.event_exclusions does to its event."""

    EXCLUDE = "exclude"
    INCLUDE = "include"  # revokes an exclusion


class ExclusionRefusedError(RefusedError):
    """An exclusion (or revocation) that cannot be recorded as asked."""


@dataclass(frozen=True)
class ExclusionReceipt:
    """What was appended: one row per event, by whom, when."""

    action: ExclusionAction
    event_ids: tuple[uuid.UUID, ...]
    recorded_by: str
    recorded_at: datetime


def parse_event_ids(texts: Iterable[str], *, source: str = "argument") -> list[uuid.UUID]:
    """Event ids from text (arguments, or the lines of a file: blank lines and # comments
    skipped), in order, without repeats; refused with the first one that is no UUID."""
    found: list[uuid.UUID] = []
    seen: set[uuid.UUID] = set()
    for number, text in enumerate(texts, start=1):
        value = text.split("#", 1)[0].strip()
        if not value:
            continue
        try:
            event_id = uuid.UUID(value)
        except ValueError:
            where = f"line {number} of {source}" if source != "argument" else "argument"
            raise ExclusionRefusedError(
                f"{value!r} ({where}) is not an event id: give UUIDs, one per line in a --file"
            ) from None
        if event_id not in seen:
            seen.add(event_id)
            found.append(event_id)
    return found


def read_event_id_file(path: Path) -> list[uuid.UUID]:
    """The event ids of a file, one per line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ExclusionRefusedError(
            f"cannot read {path}: {getattr(error, 'strerror', None) or error}"
        ) from None
    return parse_event_ids(text.splitlines(), source=str(path))


_UNKNOWN_IDS = """
    select wanted.event_id
    from unnest(%s::uuid[]) with ordinality as wanted (event_id, position)
    where not exists (
        select 1 from raw.message_charged as landed where landed.event_id = wanted.event_id
    )
    order by wanted.position
"""

_CURRENT_STATE = """
    select distinct on (event_id) event_id, action
    from billing.event_exclusions
    where event_id = any(%s::uuid[])
    order by event_id, exclusion_id desc
"""

_BILLED = """
    select billed.event_id, billed.invoice_number
    from billing.issued_invoice_events as billed
    where
        billed.event_id = any(%s::uuid[])
        and not exists (
            select 1 from billing.invoice_voids as voids
            where voids.invoice_number = billed.invoice_number
        )
    order by billed.invoice_number, billed.event_id
"""

_APPEND = """
    insert into billing.event_exclusions (event_id, action, reason)
    select event_id, %s, %s from unnest(%s::uuid[]) as ids (event_id)
    returning excluded_by, excluded_at
"""


def _shown(ids: Sequence[uuid.UUID]) -> str:
    listed = ", ".join(str(event_id) for event_id in ids[:3])
    return listed + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def _refuse_what_the_database_would(
    conn: psycopg.Connection[tuple[Any, ...]],
    action: ExclusionAction,
    event_ids: list[uuid.UUID],
) -> None:
    """The trigger's rules, checked first for a message that names every offending id."""
    unknown = [row[0] for row in conn.execute(_UNKNOWN_IDS, (event_ids,))]
    if unknown:
        raise ExclusionRefusedError(
            f"{len(unknown)} of the {len(event_ids)} event id(s) never landed: "
            f"{_shown(unknown)}; nothing was recorded (check the ids, e.g. `billing ledger`)"
        )
    state = {row[0]: ExclusionAction(row[1]) for row in conn.execute(_CURRENT_STATE, (event_ids,))}
    if action is ExclusionAction.EXCLUDE:
        already = [i for i in event_ids if state.get(i) is ExclusionAction.EXCLUDE]
        if already:
            raise ExclusionRefusedError(
                f"{len(already)} event(s) are excluded already: {_shown(already)}; "
                "nothing was recorded (leave them out of the list)"
            )
        billed = conn.execute(_BILLED, (event_ids,)).fetchall()
        if billed:
            raise ExclusionRefusedError(
                f"{len(billed)} event(s) are billed on an invoice that is not void "
                f"(first: {billed[0][0]} on {billed[0][1]}): nothing was recorded; void the "
                f"invoice instead (billing invoices void {billed[0][1]} --reason TEXT)"
            )
    else:
        not_excluded = [i for i in event_ids if state.get(i) is not ExclusionAction.EXCLUDE]
        if not_excluded:
            raise ExclusionRefusedError(
                f"{len(not_excluded)} event(s) are not excluded: {_shown(not_excluded)}; "
                "nothing was recorded"
            )


def record(
    database_url: str, action: ExclusionAction, event_ids: list[uuid.UUID], *, reason: str
) -> ExclusionReceipt:
    """Append one row per event, as the caller's own login (Finance only), all or nothing."""
    if not event_ids:
        raise ExclusionRefusedError("no event id given: list them, or give --file PATH")
    if not reason.strip():
        raise ExclusionRefusedError(f"an {action} needs a reason: --reason 'why'")
    try:
        with psycopg.connect(database_url) as conn:
            _refuse_what_the_database_would(conn, action, event_ids)
            rows = conn.execute(_APPEND, (action.value, reason.strip(), event_ids)).fetchall()
    except errors.InsufficientPrivilege as error:
        raise PermissionRefusedError(
            f"the database refused the {action} for this login "
            f"({error.diag.message_primary}): exclusions are reserved to members of "
            "billing_finance; connect with your own Finance login (BILLING_DATABASE_URL)"
        ) from None
    except (errors.ForeignKeyViolation, errors.CheckViolation) as error:
        raise ExclusionRefusedError(
            f"the database refused it: {error.diag.message_primary}; nothing was recorded"
        ) from None
    by, at = rows[0]
    return ExclusionReceipt(action, tuple(event_ids), str(by), at)
