"""The close lock: one close at a time, held from the start of a run to its end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg

from billing.locks import Lock, LockBusyError, advisory_lock
from billing.roles import Role
from orchestration.defs.resources import BillingResource


class CloseLockBusyError(LockBusyError):
    """Another close holds the close lock: a refusal (Refusal.CLOSE_LOCK_BUSY), not an error.

    Raised while the run's resources start, where Dagster records only the error (its type
    and message): the type is what orchestration/closing.py reads.
    """


class CloseLock(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Holds the close lock for the whole run (the close job runs in one process)."""

    billing: BillingResource
    wait_seconds: float = 900.0
    poll_seconds: float = 1.0

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[CloseLock]:
        # Held from the start to the end of a close run: two closes never interleave their
        # dbt build and issue step (the issue macro also refuses stale drafts on its own).
        url, _ = self.billing.role_url(Role.TRANSFORMER)

        def waiting() -> None:
            if context.log is not None:
                context.log.info("another close is running: waiting for the close lock")

        with psycopg.connect(url, autocommit=True) as conn:
            try:
                with advisory_lock(
                    conn,
                    Lock.CLOSE,
                    wait_seconds=self.wait_seconds,
                    poll_seconds=self.poll_seconds,
                    on_wait=waiting,
                    busy=f"another close has held the close lock for over "
                    f"{self.wait_seconds:.0f} s: wait for it to finish (Dagster UI, Runs) and "
                    "close again",
                ):
                    yield self
            except LockBusyError as busy:
                if busy.name != Lock.CLOSE:
                    raise
                raise CloseLockBusyError(busy.name, str(busy)) from None
