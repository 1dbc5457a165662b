"""deploy/postgres/: the role bootstrap of a managed database, run with psql on a fresh
embedded PostgreSQL, then the migrations as the migrator login, then each login's rights."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from billing import db, localservices
from tests.conftest import url_as_user

BOOTSTRAP = Path(__file__).resolve().parents[2] / "deploy" / "postgres"
TENANT = uuid.UUID("0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33")


def psql(url: str, script: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    import pgserver  # type: ignore[import-untyped]

    binary = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    command = [str(binary), url, "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-f", str(script)]
    for name, value in variables.items():
        command += ["-v", f"{name}={value}"]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture(scope="module")
def admin_url() -> Iterator[str]:
    """A managed database's administrator on a server of its own (roles are cluster-wide):
    like RDS's master user, CREATEROLE and CREATEDB but not superuser; it owns database billing."""
    state_dir = Path(tempfile.mkdtemp(prefix="billing-bootstrap-"))
    state = localservices.start(state_dir)
    try:
        with psycopg.connect(state.database_url, autocommit=True) as conn:
            conn.execute("create role cloud_admin login createrole createdb")
            conn.execute("create database billing owner cloud_admin")
        yield url_as_user(db.with_database(state.database_url, "billing"), "cloud_admin")
    finally:
        localservices.stop(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def bootstrapped(admin_url: str) -> str:
    """Bootstrap (twice: it is idempotent), migrate as the migrator, add a tenant login."""
    for _ in range(2):
        result = psql(admin_url, BOOTSTRAP / "bootstrap.sql")
        assert result.returncode == 0, result.stderr
    applied = db.migrate(url_as_user(admin_url, "svc_billing_migrator"))
    assert applied[0] == "0001_schemas_and_roles"
    with psycopg.connect(admin_url, autocommit=True) as conn:  # as `billing accounts import`
        conn.execute(
            "insert into ref.accounts (tenant_id, name, currency, billing_email, activated_on)"
            " values (%s, 'Acme', 'EUR', 'ap@acme.example', '2026-01-01')",
            (TENANT,),
        )
    result = psql(
        admin_url, BOOTSTRAP / "tenant-login.sql", login="acme_portal", tenant_id=str(TENANT)
    )
    assert result.returncode == 0, result.stderr
    result = psql(admin_url, BOOTSTRAP / "bootstrap.sql")  # again, after the migrations
    assert result.returncode == 0, result.stderr
    return admin_url


def _one(url: str, query: str) -> object:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def test_the_owner_cannot_log_in_and_owns_the_database_and_every_migrated_object(
    bootstrapped: str,
) -> None:
    assert (
        _one(bootstrapped, "select rolcanlogin from pg_roles where rolname = 'billing_owner'")
        is False
    )
    assert (
        _one(
            bootstrapped,
            "select pg_get_userbyid(datdba) from pg_database where datname = 'billing'",
        )
        == "billing_owner"
    )
    owners = _one(
        bootstrapped,
        "select array_agg(distinct pg_get_userbyid(c.relowner)) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname in ('raw', 'ref', 'billing', 'meta') and c.relkind in ('r', 'v', 'S')",
    )
    assert owners == ["billing_owner"]
    schemas = _one(
        bootstrapped,
        "select array_agg(distinct pg_get_userbyid(nspowner)) from pg_namespace where nspname "
        "in ('raw', 'ref', 'catalogue', 'staging', 'intermediate', 'billing', 'meta')",
    )
    assert schemas == ["billing_owner"]
    assert (
        _one(url_as_user(bootstrapped, "svc_billing_migrator"), "select current_user")
        == "billing_owner"
    )


@pytest.mark.parametrize(
    ("login", "group"),
    [
        ("svc_billing_loader", "billing_loader"),
        ("svc_billing_transformer", "billing_transformer"),
        ("svc_billing_renderer", "billing_renderer"),
        ("svc_billing_auditor", "billing_auditor"),
        ("acme_portal", "billing_tenant"),
    ],
)
def test_each_login_is_a_member_of_its_group_only(
    bootstrapped: str, login: str, group: str
) -> None:
    groups = _one(
        bootstrapped,
        "select array_agg(g.rolname order by g.rolname) from pg_auth_members m "
        "join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member "
        f"where u.rolname = '{login}'",
    )
    assert groups == [group]
    assert (
        _one(
            bootstrapped,
            "select rolcanlogin and not rolsuper and not rolcreaterole from pg_roles "
            f"where rolname = '{login}'",
        )
        is True
    )


def test_the_loader_login_appends_and_reads_nothing_else(bootstrapped: str) -> None:
    loader = url_as_user(bootstrapped, "svc_billing_loader")
    with psycopg.connect(loader, autocommit=True) as conn:
        conn.execute(
            "insert into raw.loader_checkpoints (consumer_name, stream_name, last_stream_sequence)"
            " values ('bootstrap-test', 'BILLING', 0)"
        )
        for statement in (
            "select count(*) from billing.issued_invoices",
            "select count(*) from raw.message_charged",
            "create table public.stray (id int)",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)


def test_the_transformer_login_builds_as_its_group(bootstrapped: str) -> None:
    transformer = url_as_user(bootstrapped, "svc_billing_transformer")
    with psycopg.connect(transformer, autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone() == ("billing_transformer",)
        conn.execute("create table staging.bootstrap_probe (id int)")
        owner = conn.execute(
            "select tableowner from pg_tables where tablename = 'bootstrap_probe'"
        ).fetchone()
        conn.execute("drop table staging.bootstrap_probe")
    assert owner == ("billing_transformer",)


def test_the_tenant_login_sees_itself_as_its_tenant(bootstrapped: str) -> None:
    tenant = url_as_user(bootstrapped, "acme_portal")
    assert _one(tenant, "select billing.current_tenant_id()") == TENANT
    with (
        psycopg.connect(tenant, autocommit=True) as conn,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        conn.execute("select * from ref.tenant_logins")


def test_the_tenant_login_has_its_limits_and_no_temp(bootstrapped: str) -> None:
    tenant = url_as_user(bootstrapped, "acme_portal")
    assert _one(tenant, "show statement_timeout") == "30s"
    assert (
        _one(bootstrapped, "select rolconnlimit from pg_roles where rolname = 'acme_portal'") == 5
    )
    with (
        psycopg.connect(tenant, autocommit=True) as conn,
        pytest.raises(errors.InsufficientPrivilege, match="temporary"),
    ):
        conn.execute("create temporary table mine (x int)")
    # The break-glass role of migration 0014 exists, NOLOGIN, and no login is a member yet
    # (but the administrator who created it, as PostgreSQL 16 records its creator).
    assert _one(
        bootstrapped,
        "select not rolcanlogin and not exists (select 1 from pg_auth_members"
        " where roleid = r.oid and member <> 'cloud_admin'::regrole)"
        " from pg_roles r where rolname = 'billing_break_glass'",
    )
