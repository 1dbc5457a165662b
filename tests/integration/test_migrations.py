"""The migrations build the schema once and are safe to re-run."""

from __future__ import annotations

import psycopg

from billing import db


def test_migrations_are_idempotent(database_url: str) -> None:
    assert db.migrate(database_url) == []
    with psycopg.connect(database_url) as conn:
        versions = [row[0] for row in conn.execute("select version from meta.schema_migrations")]
    assert versions == sorted(m.version for m in db.migrations())


def test_group_roles_exist_and_cannot_log_in(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = dict(
            conn.execute(
                "select rolname, rolcanlogin from pg_roles where rolname = any(%s)",
                (list(db.GROUP_ROLES),),
            ).fetchall()
        )
    assert rows == dict.fromkeys(db.GROUP_ROLES, False)
