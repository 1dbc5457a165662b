"""Shared fixtures: real embedded PostgreSQL and NATS, one set per test worker.

The servers come from the same code as `billing services up` (billing.localservices). Set
BILLING_TEST_DATABASE_URL / BILLING_TEST_NATS_URL to run the suite against other servers.
Every test that needs a database gets its own, created from a migrated template in ~0.1 s.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from billing import db, localservices
from billing.settings import CHARGE_STREAM, INVOICE_STREAM
from tests.support.dbt import DbtProject


@pytest.fixture(scope="session")
def services() -> Iterator[localservices.Endpoints]:
    database_url = os.environ.get("BILLING_TEST_DATABASE_URL")
    nats_url = os.environ.get("BILLING_TEST_NATS_URL")
    if database_url and nats_url:
        yield localservices.Endpoints(database_url=database_url, nats_url=nats_url)
        return
    state_dir = Path(tempfile.mkdtemp(prefix="billing-test-"))
    state = localservices.start(state_dir)
    try:
        yield localservices.Endpoints(database_url=state.database_url, nats_url=state.nats_url)
    finally:
        localservices.stop(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url(services: localservices.Endpoints) -> str:
    """Owner URL of the test server's maintenance database."""
    return services.database_url


def _create_database(server_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        statement = sql.SQL("create database {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        conn.execute(statement)
    url = db.with_database(server_url, name)
    if template:
        # Database privileges (no TEMP for tenants) are not copied from a template.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("select meta.restrict_database_privileges()")
    return url


def _drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def template_database(server_url: str, dbt_target_path: Path) -> Iterator[str]:
    """A migrated database, with the Finance catalogues seeded, that tests copy."""
    name = f"billing_template_{uuid.uuid4().hex[:8]}"
    url = _create_database(server_url, name)
    db.migrate(url)
    DbtProject(url, dbt_target_path).seed()
    yield name
    _drop_database(server_url, name)


def worker_name() -> str:
    """The pytest-xdist worker running this process ("main" without xdist)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture
def recreate_database(server_url: str, template_database: str) -> Callable[[], str]:
    """Drop and re-create this worker's test database from the template; returns its URL.

    For tests that need several fresh databases in one test (property-based examples).
    """

    def recreate() -> str:
        name = f"billing_test_{worker_name()}"
        _drop_database(server_url, name)
        return _create_database(server_url, name, template=template_database)

    return recreate


@pytest.fixture
def database_url(server_url: str, template_database: str) -> Iterator[str]:
    """Owner URL of a fresh, migrated database for this test only.

    The name is fixed per worker (tests of a worker run one after another), so that dbt sees
    the same profile from test to test and can reuse its parse of the project.
    """
    name = f"billing_test_{worker_name()}"
    _drop_database(server_url, name)
    url = _create_database(server_url, name, template=template_database)
    yield url
    _drop_database(server_url, name)


def _copy_database(server_url: str, source: str, copy: str) -> None:
    """`copy` as a copy of `source` (nobody may be connected to the source meanwhile)."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = %s and pid <> pg_backend_pid()",
            (source,),
        )
    _drop_database(server_url, copy)
    _create_database(server_url, copy, template=source)


BuildData = Callable[[str, DbtProject, "LoginFactory"], None]


class DatabaseSnapshots:
    """Test data that costs dbt runs, built once per worker and copied for each test.

    `restore(name, build)` gives this test's database as `build` leaves a fresh one: the first
    call of a worker builds it and keeps a copy (a database `billing_snap_NAME_WORKER`); the
    next calls copy that (about 0.1 s instead of seconds of dbt). The test database keeps its
    name, so dbt's parse of the project is reused. Logins that `build` creates are dropped
    once it is done (rows keep their names, as voided_by does).
    """

    def __init__(self, server_url: str, template: str, dbt_target_path: Path) -> None:
        self.server_url = server_url
        self.template = template
        self.dbt_target_path = dbt_target_path
        self.built: list[str] = []

    def restore(self, name: str, build: BuildData) -> str:
        test_database = f"billing_test_{worker_name()}"
        snapshot = f"billing_snap_{name}_{worker_name()}"
        if snapshot not in self.built:
            _copy_database(self.server_url, self.template, test_database)
            url = db.with_database(self.server_url, test_database)
            logins = LoginFactory(url)
            try:
                build(url, DbtProject(url, self.dbt_target_path), logins)
            finally:
                logins.drop_all()
            _copy_database(self.server_url, test_database, snapshot)
            self.built.append(snapshot)
        _copy_database(self.server_url, snapshot, test_database)
        return db.with_database(self.server_url, test_database)

    def drop_all(self) -> None:
        for snapshot in self.built:
            _drop_database(self.server_url, snapshot)


@pytest.fixture(scope="session")
def database_snapshots(
    server_url: str, template_database: str, dbt_target_path: Path
) -> Iterator[DatabaseSnapshots]:
    snapshots = DatabaseSnapshots(server_url, template_database, dbt_target_path)
    yield snapshots
    snapshots.drop_all()


@pytest.fixture
def nats_url(services: localservices.Endpoints) -> Iterator[str]:
    """The test NATS server, with the billing streams deleted before and after the test."""
    import asyncio

    import nats

    async def delete_streams() -> None:
        client = await nats.connect(services.nats_url)
        try:
            jetstream = client.jetstream()
            for stream in await jetstream.streams_info():
                if stream.config.name in (CHARGE_STREAM, INVOICE_STREAM):
                    await jetstream.delete_stream(stream.config.name)
        finally:
            await client.close()

    asyncio.run(delete_streams())
    yield services.nats_url
    asyncio.run(delete_streams())


@pytest.fixture(scope="session")
def dbt_target_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dbt target folder per worker, so dbt can reuse its parse between tests."""
    return tmp_path_factory.mktemp("dbt-target")


@pytest.fixture
def dbt_project(database_url: str, dbt_target_path: Path) -> DbtProject:
    """The dbt project bound to this test's database (seeds loaded from the template)."""
    return DbtProject(database_url, dbt_target_path)


class LoginFactory:
    """Creates real login roles, members of a group role, as people and processes log in.

    Tenant and void rights are tested through such logins, never by SET ROLE from an owner.
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.created: list[str] = []

    def __call__(self, group: str, tenant_id: uuid.UUID | None = None) -> str:
        name = f"login_{group.removeprefix('billing_')}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("create role {} login in role {}").format(
                    sql.Identifier(name), sql.Identifier(group)
                )
            )
            if tenant_id is not None:
                conn.execute(
                    "insert into ref.tenant_logins (login_role, tenant_id) values (%s, %s)",
                    (name, tenant_id),
                )
        self.created.append(name)
        return url_as_user(self.database_url, name)

    def drop_all(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity where usename = %s",
                    (name,),
                )
                conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


def url_as_user(database_url: str, user: str) -> str:
    """The same database URL, logging in as `user` (trust authentication in tests)."""
    from urllib.parse import urlsplit

    parts = urlsplit(database_url)
    host = parts.netloc.split("@")[-1]
    return parts._replace(netloc=f"{user}@{host}").geturl()


@pytest.fixture
def login(database_url: str) -> Iterator[LoginFactory]:
    """`login("billing_finance")` -> URL of a new login role in that group."""
    factory = LoginFactory(database_url)
    yield factory
    factory.drop_all()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The property tests first: they are the longest (minutes), and with `-n 2` a long test
    scheduled last keeps one worker busy after the other has finished everything else."""
    items.sort(key=lambda item: 0 if "tests/property/" in item.nodeid else 1)
