"""Database access: connections per role and the versioned migrations."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from urllib.parse import parse_qs, urlsplit

import psycopg
from psycopg import errors, sql

from billing.errors import (
    BillingError,
    DatabaseUnavailableError,
    PermissionRefusedError,
    SchemaNotMigratedError,
)
from billing.locks import Lock, advisory_lock
from billing.roles import Role
from billing.settings import Settings

GROUP_ROLES = tuple(Role)
# libpq waits forever for a host that does not answer; a command should not.
CONNECT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations() -> list[Migration]:
    """The SQL migrations shipped in billing/migrations, in version order."""
    found = []
    for entry in resources.files("billing.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(int(version), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda migration: migration.version)


def migrate(database_url: str) -> list[str]:
    """Apply pending migrations in one transaction each; returns the names applied."""
    applied: list[str] = []
    # The lock serializes concurrent migrators (two test workers, two deploys).
    with (
        psycopg.connect(
            database_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
        ) as conn,
        advisory_lock(conn, Lock.MIGRATIONS, wait_seconds=None),
    ):
        conn.execute("create schema if not exists meta")
        conn.execute(
            """
            create table if not exists meta.schema_migrations (
                version integer primary key,
                name text not null,
                checksum text not null,
                applied_at timestamptz not null default now()
            )
            """
        )
        done = {
            version: checksum
            for version, checksum in conn.execute(
                "select version, checksum from meta.schema_migrations"
            )
        }
        for migration in migrations():
            if migration.version in done:
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode())
                # From migration 0014 on, what a migration creates belongs to the NOLOGIN
                # owner role, not to the login that ran it (docs/security.md).
                hand_over = conn.execute(
                    "select to_regprocedure('meta.hand_over_to_owner()') is not null"
                ).fetchone()
                if hand_over and hand_over[0]:
                    conn.execute("select meta.hand_over_to_owner()")
                conn.execute(
                    "insert into meta.schema_migrations (version, name, checksum)"
                    " values (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            applied.append(f"{migration.version:04d}_{migration.name}")
    return applied


def role_url(settings: Settings, owner_url: str, role: Role) -> tuple[str, str | None]:
    """The URL to connect as `role`, and the role to SET at connect (None: log in as it).

    In production each component has its own URL (BILLING_<ROLE>_DATABASE_URL, from Vault).
    Locally the owner URL is enough: the component switches to its group role at connect,
    so its grants are exercised all the same.
    """
    dedicated = settings.role_database_urls.get(role)
    if dedicated:
        return dedicated, None
    return owner_url, role


@contextmanager
def connect(
    database_url: str, *, role: str | None = None, autocommit: bool = False
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection that has switched to `role` (SET ROLE) when one is given."""
    with psycopg.connect(
        database_url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_SECONDS
    ) as conn:
        if role is not None:
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
            if not autocommit:
                conn.commit()
        yield conn


def with_database(database_url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(database_url)
    return parts._replace(path="/" + database).geturl()


def url_host_options(database_url: str) -> dict[str, str]:
    """Host, port, user, password and database of a URL (socket directories included)."""
    parts = urlsplit(database_url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "host": query.get("host") or parts.hostname or "localhost",
        "port": str(query.get("port") or parts.port or 5432),
        "user": query.get("user") or parts.username or "postgres",
        "password": query.get("password") or parts.password or "",
        "dbname": query.get("dbname") or parts.path.lstrip("/") or "postgres",
    }


def _connection_failure(message: str) -> BillingError:
    # libpq: 'connection failed: connection to server at "h", port 5432 failed: REASON'
    where, _, reason = message.rpartition(" failed: ")
    where = where.split("connection to ", 1)[-1] or "the configured server"
    reason = reason.replace("FATAL:", "").strip() or message
    lowered = reason.lower()
    if "password" in lowered or "authentication" in lowered:
        return DatabaseUnavailableError(
            f"PostgreSQL ({where}) refused the login: {reason}; check the user and password "
            "in BILLING_DATABASE_URL"
        )
    if "does not exist" in lowered:
        return DatabaseUnavailableError(
            f"PostgreSQL ({where}): {reason}; fix BILLING_DATABASE_URL (a new database also "
            "needs `billing db migrate`)"
        )
    return DatabaseUnavailableError(
        f"cannot connect to PostgreSQL ({where}): {reason}; start it (`billing services up`) "
        "or fix BILLING_DATABASE_URL"
    )


def _names_a_missing_role(error: psycopg.Error) -> bool:
    message = error.diag.message_primary or str(error)
    return message.startswith('role "billing_') and message.endswith('" does not exist')


def explain_database_error(error: psycopg.Error) -> BillingError | None:
    """The one-line BillingError a user can act on for a database failure, if it is one.

    Used at the edges (the CLI): an unreachable server or a refused login, a database that
    was never migrated, a permission the login lacks. None for anything else (a bug).
    """
    if isinstance(error, errors.InvalidSchemaName | errors.UndefinedTable):
        what = error.diag.message_primary or str(error).strip()
        return SchemaNotMigratedError(
            f"the database is not migrated ({what}): run `billing db migrate`, then try again"
        )
    if isinstance(error, errors.InvalidParameterValue) and _names_a_missing_role(error):
        # SET ROLE to a billing role on a server the migrations never ran on (roles are
        # created by the first migration, for the whole server).
        what = error.diag.message_primary or str(error).strip()
        return SchemaNotMigratedError(
            f"the database is not migrated ({what}): run `billing db migrate`, then try again"
        )
    if isinstance(error, errors.InsufficientPrivilege):
        what = error.diag.message_primary or str(error).strip()
        return PermissionRefusedError(
            f"the database refused this login: {what}; connect with a login that has the "
            "right (BILLING_DATABASE_URL)"
        )
    if isinstance(error, psycopg.OperationalError):
        lines = str(error).strip().splitlines()
        first = lines[0].strip() if lines else type(error).__name__
        if first.startswith(("connection failed", "connection is bad")) or " failed: " in first:
            return _connection_failure(first)
        return DatabaseUnavailableError(
            f"PostgreSQL failed during the command: {first}; check the server and try again"
        )
    return None
