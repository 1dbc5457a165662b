"""Why a close stops without anything being broken, as data rather than message text.

A refusal is the close saying "not now, and here is why" (SPEC section 4): nothing was issued,
and an operator can act on it (docs/runbooks/close.md). Each step that can refuse says so in
the metadata of what it reports, under REFUSAL:

- the raw observation's Failure: LOADER_BEHIND (with the loader's progress);
- the close_blockers dbt test's failed check: BLOCKERS (with the blockers and remedies);
- any other failed blocking check (dbt test, GX suite): FAILED_CHECKS; the dbt build's
  Failure says FAILED_CHECKS when every failed node is a failed test (not a broken model);
- the issue step's Failure: ISSUE_REFUSED when the issue macro's guard refused (stale drafts,
  blockers); any other issue failure is an error.

The close lock is taken while the run's resources start, where Dagster keeps no metadata,
only the error's type: CloseLockBusyError (orchestration/defs/close/resources.py) is
CLOSE_LOCK_BUSY. orchestration/closing.py reads all of these into a CloseOutcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import dagster as dg

# The metadata entry that names the kind of refusal.
REFUSAL = "refusal"


class Refusal(StrEnum):
    """The kinds of refused close."""

    LOADER_BEHIND = "loader_behind"
    BLOCKERS = "blockers"
    FAILED_CHECKS = "failed_checks"
    CLOSE_LOCK_BUSY = "close_lock_busy"
    ISSUE_REFUSED = "issue_refused"

    @property
    def label(self) -> str:
        """A few words for a person: 'loader behind', 'close blockers', ..."""
        return _LABELS[self]

    def remedy(self, period: str) -> str:
        """The exact command(s) that resolve this kind of refusal of `period`'s close
        (docs/runbooks/close.md). Close blockers and failed checks carry their own too: each
        blocker's remedy_command and exclude_command (model close_blockers)."""
        return _REMEDIES[self].format(period=period)


_LABELS = {
    Refusal.LOADER_BEHIND: "loader behind",
    Refusal.BLOCKERS: "close blockers",
    Refusal.FAILED_CHECKS: "failed checks",
    Refusal.CLOSE_LOCK_BUSY: "another close is running",
    Refusal.ISSUE_REFUSED: "issue refused",
}


_REMEDIES = {
    Refusal.LOADER_BEHIND: (
        "billing events load --until-idle (or start the loader), then: "
        "billing close --month {period} --wait-seconds 600"
    ),
    Refusal.BLOCKERS: "each blocker's command below, then: billing close --month {period}",
    Refusal.FAILED_CHECKS: (
        "a data bug, not data to patch: escalate with the check named below "
        "(docs/runbooks/close.md), then: billing close --month {period}"
    ),
    Refusal.CLOSE_LOCK_BUSY: "wait for the running close (billing ui, Runs), then: "
    "billing close --month {period}",
    Refusal.ISSUE_REFUSED: "billing close --month {period} (it rebuilds the drafts)",
}


def refusal_metadata(kind: Refusal) -> dict[str, dg.MetadataValue]:
    """The metadata entry that marks a failure or a failed check as a refusal of `kind`."""
    return {REFUSAL: dg.MetadataValue.text(kind.value)}


def refusal_of(metadata: Mapping[str, Any]) -> Refusal | None:
    """The kind of refusal the metadata names, if any."""
    value = metadata.get(REFUSAL)
    text = getattr(value, "value", value)
    return Refusal(text) if text in {kind.value for kind in Refusal} else None
