"""The close job (one month, one run) and its schedule: the 1st at 03:00 UTC, previous month."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.checks import ASSET_CHECKS
from orchestration.defs.close import CLOSE_ASSETS
from orchestration.defs.dbt_assets import billing_dbt
from orchestration.defs.partitions import MONTHLY
from orchestration.defs.sources import RAW_EVENTS

CLOSE_JOB_NAME = "monthly_close"
CLOSE_TAG = "billing/close"

monthly_close = dg.define_asset_job(
    name=CLOSE_JOB_NAME,
    selection=(
        dg.AssetSelection.assets(RAW_EVENTS)
        | dg.AssetSelection.assets(billing_dbt)
        | dg.AssetSelection.assets(*CLOSE_ASSETS)
        | dg.AssetSelection.checks(*ASSET_CHECKS)
    ),
    partitions_def=MONTHLY,
    # One process for the whole run: the close lock (a session advisory lock) is taken once
    # and held from the raw observation to the last event published.
    executor_def=dg.in_process_executor,
    tags={CLOSE_TAG: "monthly"},
    description=(
        "The monthly close of one period: wait for the loader, check raw events, dbt build "
        "(tests as checks), GX suites, issue in one transaction, render PDFs, publish events."
    ),
)

monthly_close_schedule = dg.build_schedule_from_partitioned_job(
    monthly_close,
    name="monthly_close_schedule",
    description="Closes the previous month on the 1st at 03:00 UTC.",
    hour_of_day=3,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
