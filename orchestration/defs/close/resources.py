"""The close lock: one close at a time, held from the start of a run to its end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg

from billing.locks import Lock, advisory_lock
from billing.roles import Role
from orchestration.defs.resources import BillingResource


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

        with (
            psycopg.connect(url, autocommit=True) as conn,
            advisory_lock(
                conn,
                Lock.CLOSE,
                wait_seconds=self.wait_seconds,
                poll_seconds=self.poll_seconds,
                on_wait=waiting,
                busy=f"another close has held the close lock for over {self.wait_seconds:.0f} s: "
                "wait for it to finish (Dagster UI, Runs) and close again",
            ),
        ):
            yield self
