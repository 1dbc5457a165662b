"""Named PostgreSQL session advisory locks: one key per kind of run that must not overlap.

A lock is a name; its key is `hashtextextended(name, 0)`, computed by the server, so every
process (and a DBA in psql: `select pg_try_advisory_lock(hashtextextended('billing.close', 0))`)
agrees on it. Session locks are released by `advisory_lock` on exit, and by the server when
the session ends (a killed process never leaves one behind).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum

import psycopg

from billing.errors import BillingError

TRY_LOCK_SQL = "select pg_try_advisory_lock(hashtextextended(%s, 0))"
LOCK_SQL = "select pg_advisory_lock(hashtextextended(%s, 0))"
UNLOCK_SQL = "select pg_advisory_unlock(hashtextextended(%s, 0))"


class Lock(StrEnum):
    """The service's session locks (the issue macro's transaction lock lives in dbt)."""

    MIGRATIONS = "billing.migrations"
    CLOSE = "billing.close"
    RENDER = "billing.render"
    PUBLISH = "billing.publish"


def loader_lock(consumer: str) -> str:
    """One loader per durable consumer: its high-water mark has a single writer."""
    return f"billing.loader:{consumer}"


class LockBusyError(BillingError):
    """Another session holds the lock."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


def _acquired(conn: psycopg.Connection[tuple[object, ...]], statement: str, name: str) -> bool:
    row = conn.execute(statement, (name,)).fetchone()
    if not conn.autocommit:
        conn.commit()  # a session lock outlives the transaction; end it so none stays open
    return bool(row and row[0])


@contextmanager
def advisory_lock(
    conn: psycopg.Connection[tuple[object, ...]],
    name: str,
    *,
    wait_seconds: float | None = 0.0,
    poll_seconds: float = 1.0,
    busy: str | None = None,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold session lock `name` on `conn` for the block.

    wait_seconds=0: try once; a positive number: poll that long; None: wait for as long as it
    takes. When the lock is not had in time, LockBusyError carries `busy` (what to do).
    """
    if wait_seconds is None:
        _acquired(conn, LOCK_SQL, name)
    else:
        deadline = time.monotonic() + wait_seconds
        while not _acquired(conn, TRY_LOCK_SQL, name):
            if time.monotonic() >= deadline:
                raise LockBusyError(
                    name, busy or f"another run holds the lock {name}: wait for it to finish"
                )
            if on_wait is not None:
                on_wait()
            time.sleep(max(0.0, min(poll_seconds, deadline - time.monotonic())))
    try:
        yield
    finally:
        if not conn.closed:
            if not conn.autocommit:
                conn.rollback()
            conn.execute(UNLOCK_SQL, (name,))
            if not conn.autocommit:
                conn.commit()
