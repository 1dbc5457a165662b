"""The Dagster Definitions of the service: `dagster-webserver -m orchestration.definitions`.

Resources default to the environment (BILLING_* variables, or the embedded services of
`billing up`); tests build their own with explicit URLs through build_definitions().
"""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.checks import ASSET_CHECKS
from orchestration.defs.close import CLOSE_ASSETS
from orchestration.defs.dbt_assets import billing_dbt
from orchestration.defs.dbt_project import BILLING_DBT_PROJECT, source_specs
from orchestration.defs.resources import BillingResource, CloseLock, dbt_resource
from orchestration.defs.schedules import monthly_close, monthly_close_schedule
from orchestration.defs.sources import RAW_EVENTS, raw_message_charged


def build_definitions(
    billing: BillingResource | None = None,
    dbt: DbtCliResource | None = None,
    close_lock_wait_seconds: float = 900.0,
) -> dg.Definitions:
    """The Definitions, with the given resources (defaults: from the environment)."""
    billing = billing or BillingResource()
    return dg.Definitions(
        assets=[
            raw_message_charged,
            *source_specs(BILLING_DBT_PROJECT.manifest_path, exclude={RAW_EVENTS}),
            billing_dbt,
            *CLOSE_ASSETS,
        ],
        asset_checks=ASSET_CHECKS,
        jobs=[monthly_close],
        schedules=[monthly_close_schedule],
        resources={
            "billing": billing,
            "dbt": dbt or dbt_resource(),
            "close_lock": CloseLock(billing=billing, wait_seconds=close_lock_wait_seconds),
        },
    )


defs = build_definitions()
