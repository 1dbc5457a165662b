"""Resources of the close: where the data is, the dbt CLI, and the lock that serializes closes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
from dagster_dbt import DbtCliResource

from billing import db, localservices
from billing.locks import Lock, advisory_lock
from billing.roles import Role
from billing.settings import Settings, load_settings
from warehouse.transform import DBT_PROJECT_DIR, dbt_environment, dbt_executable


class BillingResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where the billing data lives. Unset fields come from the environment (BILLING_*) and,
    for the URLs, from the embedded services that `billing up` started."""

    database_url: str | None = None
    nats_url: str | None = None
    state_dir: str | None = None
    documents_uri: str | None = None
    close_wait_seconds: float | None = None
    render_workers: int = 0

    def settings(self) -> Settings:
        """load_settings() with this resource's overrides."""
        return load_settings().with_overrides(
            state_dir=self.state_dir,
            database_url=self.database_url,
            nats_url=self.nats_url,
            documents_uri=self.documents_uri,
            close_wait_seconds=self.close_wait_seconds,
        )

    def endpoints(self) -> localservices.Endpoints:
        """The database (owner) and NATS URLs."""
        return localservices.resolve_endpoints(self.settings())

    def role_url(self, role: Role) -> tuple[str, str | None]:
        """URL to connect as `role` and the role to SET (db.role_url)."""
        return db.role_url(self.settings(), self.endpoints().database_url, role)


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


def dbt_resource() -> DbtCliResource:
    """The dbt CLI of this virtual environment on the project (profiles.yml in the project)."""
    return DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=dbt_executable(),
    )


def dbt_profile_variables(database_url: str) -> dict[str, str]:
    """The variables profiles.yml reads, for `database_url` (no target or log paths)."""
    return {
        name: value
        for name, value in dbt_environment(database_url).items()
        if name not in ("DBT_TARGET_PATH", "DBT_LOG_PATH")
    }


@contextmanager
def dbt_profile(database_url: str) -> Iterator[None]:
    """The environment profiles.yml reads, set for the dbt invocations inside the block.

    dagster-dbt starts dbt with a copy of os.environ (and reads the profile in process too),
    so the variables go there, and are restored afterwards.
    """
    wanted = dbt_profile_variables(database_url)
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
