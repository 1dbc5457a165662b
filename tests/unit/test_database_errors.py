"""billing.db.explain_database_error: what a database failure means to a user, in one line."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from billing import localservices
from billing.db import explain_database_error
from billing.errors import (
    DatabaseUnavailableError,
    PermissionRefusedError,
    SchemaNotMigratedError,
    ServicesNotRunningError,
)
from billing.settings import Settings

AT = 'connection failed: connection to server at "10.1.2.3", port 5432 failed: '


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            AT + 'FATAL:  password authentication failed for user "finance"',
            'PostgreSQL (server at "10.1.2.3", port 5432) refused the login: password '
            'authentication failed for user "finance"; check the user and password in '
            "BILLING_DATABASE_URL",
        ),
        (
            AT + "fe_sendauth: no password supplied",
            'PostgreSQL (server at "10.1.2.3", port 5432) refused the login: fe_sendauth: no '
            "password supplied; check the user and password in BILLING_DATABASE_URL",
        ),
        (
            AT + 'FATAL:  database "billing" does not exist',
            'PostgreSQL (server at "10.1.2.3", port 5432): database "billing" does not exist; '
            "fix BILLING_DATABASE_URL (a new database also needs `billing db migrate`)",
        ),
        (
            AT + "timeout expired",
            'cannot connect to PostgreSQL (server at "10.1.2.3", port 5432): timeout expired; '
            "start it (`billing services up`) or fix BILLING_DATABASE_URL",
        ),
    ],
)
def test_connection_failures(message: str, expected: str) -> None:
    explained = explain_database_error(psycopg.OperationalError(message))
    assert isinstance(explained, DatabaseUnavailableError)
    assert str(explained) == expected


def test_a_real_refused_connection() -> None:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect("postgresql://nobody@127.0.0.1:1/none", connect_timeout=2)
    explained = explain_database_error(refused.value)
    assert str(explained).startswith('cannot connect to PostgreSQL (server at "127.0.0.1", port 1)')


def test_schema_and_permission_errors_and_bugs() -> None:
    missing = explain_database_error(
        psycopg.errors.InvalidSchemaName('schema "ref" does not exist')
    )
    assert isinstance(missing, SchemaNotMigratedError)
    assert "run `billing db migrate`" in str(missing)
    denied = explain_database_error(psycopg.errors.InsufficientPrivilege("permission denied"))
    assert isinstance(denied, PermissionRefusedError)
    assert explain_database_error(psycopg.errors.DivisionByZero("division by zero")) is None


def test_each_command_resolves_only_the_url_it_needs(tmp_path: Path) -> None:
    nothing = Settings(state_dir=tmp_path, database_url=None, nats_url=None)
    with pytest.raises(ServicesNotRunningError, match=r"^BILLING_DATABASE_URL is not set"):
        localservices.resolve_database_url(nothing)
    with pytest.raises(ServicesNotRunningError, match=r"^BILLING_NATS_URL is not set"):
        localservices.resolve_nats_url(nothing)
    with pytest.raises(
        ServicesNotRunningError, match="BILLING_DATABASE_URL and BILLING_NATS_URL are"
    ):
        localservices.resolve_endpoints(nothing)
    database_only = nothing.with_overrides(database_url="postgresql://db/billing")
    assert localservices.resolve_database_url(database_only) == "postgresql://db/billing"
    with pytest.raises(ServicesNotRunningError, match=r"^BILLING_NATS_URL is not set"):
        localservices.resolve_endpoints(database_only)
    both = database_only.with_overrides(nats_url="nats://nats:4222")
    assert localservices.resolve_endpoints(both) == localservices.Endpoints(
        "postgresql://db/billing", "nats://nats:4222"
    )


def test_a_billing_role_missing_on_the_server_means_not_migrated(database_url: str) -> None:
    # A server the migrations never ran on has no billing_* role: SET ROLE fails first.
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("set role billing_loader_never_created")
    explained = explain_database_error(refused.value)
    assert isinstance(explained, SchemaNotMigratedError)
    assert str(explained) == (
        'the database is not migrated (role "billing_loader_never_created" does not exist): '
        "run `billing db migrate`, then try again"
    )
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.Error) as other:
        conn.execute("set role someone_else")
    assert explain_database_error(other.value) is None  # not ours to explain: a bug, logged
