"""The preview domain: the current month's preview asset, the job that refreshes it, its
schedule and its sensor on new events."""

import dagster as dg

from orchestration.defs.preview.assets import current_month_preview_asset
from orchestration.defs.preview.jobs import (
    preview_events_sensor,
    preview_refresh_job,
    preview_refresh_schedule,
)
from orchestration.defs.resources import BillingResource


def preview_definitions(
    billing: BillingResource, dbt_assets: dg.AssetsDefinition
) -> dg.Definitions:
    """The schedule's cron and the freshness window come from the settings (BILLING_PREVIEW_*)."""
    settings = billing.settings()
    job = preview_refresh_job()
    return dg.Definitions(
        assets=[current_month_preview_asset(dbt_assets, settings.preview_max_age)],
        jobs=[job],
        schedules=[preview_refresh_schedule(job, settings.preview_cron)],
        sensors=[preview_events_sensor(job)],
        resources={"billing": billing},
    )
