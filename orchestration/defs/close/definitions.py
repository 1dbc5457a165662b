"""The close domain: the issue step and its suite, the close lock, the job, its schedule and
the sensors that record every close run."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.close.assets import issued_invoices_asset
from orchestration.defs.close.checks import issued_invoices_check
from orchestration.defs.close.resources import CloseLock
from orchestration.defs.close.schedules import monthly_close_job, monthly_close_schedule
from orchestration.defs.close.sensors import close_run_sensors
from orchestration.defs.resources import BillingResource


def close_definitions(
    billing: BillingResource,
    dbt: DbtCliResource,
    dbt_assets: dg.AssetsDefinition,
    lock_wait_seconds: float,
) -> dg.Definitions:
    """The issue step runs a dbt macro (the dbt resource) under the close lock, after the
    models of `dbt_assets` it reads; the job runs everything from the raw observation on."""
    job = monthly_close_job(dbt_assets)
    return dg.Definitions(
        assets=[issued_invoices_asset(dbt_assets)],
        asset_checks=[issued_invoices_check],
        jobs=[job],
        schedules=[monthly_close_schedule(job)],
        sensors=close_run_sensors(job),
        resources={
            "billing": billing,
            "dbt": dbt,
            "close_lock": CloseLock(billing=billing, wait_seconds=lock_wait_seconds),
        },
    )
