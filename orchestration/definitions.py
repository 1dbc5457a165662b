"""The Dagster Definitions of the service: `dagster-webserver -m orchestration.definitions`.

One Definitions per domain (orchestration/defs/<domain>/definitions.py), merged here with
their resources: the raw source, the dbt build, the close (issue step, lock, job, schedule),
the documents and the current month's preview (job, schedule, sensor). Resources default to
the environment (BILLING_* variables, or the embedded services of `billing services up`);
tests and `billing close` build their own with build_definitions().

Importing this module builds nothing: `defs` is loaded lazily (`@dg.definitions`), when the
code location loads; that is when the dbt manifest is checked (orchestration/defs/dbt/
project.py: parsed again only if the project changed).
"""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.close.definitions import close_definitions
from orchestration.defs.dbt.assets import billing_dbt_assets
from orchestration.defs.dbt.definitions import dbt_definitions
from orchestration.defs.dbt.resources import dbt_resource
from orchestration.defs.documents.definitions import documents_definitions
from orchestration.defs.preview.definitions import preview_definitions
from orchestration.defs.raw.definitions import raw_definitions
from orchestration.defs.resources import BillingResource


def build_definitions(
    billing: BillingResource | None = None,
    dbt: DbtCliResource | None = None,
    close_lock_wait_seconds: float = 900.0,
) -> dg.Definitions:
    """The Definitions, with the given resources (defaults: from the environment)."""
    billing = billing or BillingResource()
    dbt = dbt or dbt_resource()
    dbt_assets = billing_dbt_assets()
    return dg.Definitions.merge(
        raw_definitions(billing),
        dbt_definitions(billing, dbt, dbt_assets),
        close_definitions(billing, dbt, dbt_assets, close_lock_wait_seconds),
        documents_definitions(billing),
        preview_definitions(billing, dbt_assets),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location: resources from the environment."""
    return build_definitions()
