"""The dbt CLI resource, and the profile environment each dbt invocation of a close reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from dagster_dbt import DbtCliResource

from warehouse.transform import DBT_PROJECT_DIR, dbt_environment, dbt_executable


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
