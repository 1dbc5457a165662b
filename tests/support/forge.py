"""Writing issued history that no service role could write: past issue times, a void by the
owner, a period close without its issue transaction.

The database refuses such rows from every role (migrations 0013, 0014). Tests that need a
ready-made past (an invoice issued last month, a close recorded long ago) write it as a
superuser in `session_replication_role = replica`, which skips triggers and foreign keys:
the one bypass PostgreSQL keeps for superusers (docs/security.md says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


@contextmanager
def forged_history(conn: psycopg.Connection[tuple[object, ...]]) -> Iterator[None]:
    """Within the block, `conn` (a superuser's) writes without the database's checks."""
    conn.execute("set session_replication_role = replica")
    try:
        yield
    finally:
        conn.execute("set session_replication_role = origin")
