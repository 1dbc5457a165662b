"""The close job (one month, one run) and its schedule: the 1st at 03:00 UTC, previous month."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from orchestration.defs.close.assets import ISSUED_INVOICES
from orchestration.defs.documents.assets import INVOICE_DOCUMENTS, INVOICE_EVENTS
from orchestration.defs.partitions import MONTHLY
from orchestration.defs.raw.assets import RAW_EVENTS

if TYPE_CHECKING:
    # What build_schedule_from_partitioned_job returns for an asset job (not exported).
    from dagster._core.definitions.partitions.partitioned_schedule import (
        UnresolvedPartitionedAssetScheduleDefinition,
    )

CLOSE_JOB_NAME = "monthly_close"
CLOSE_SCHEDULE_NAME = "monthly_close_schedule"
CLOSE_TAG = "billing/close"
CLOSE_STEPS = (ISSUED_INVOICES, INVOICE_DOCUMENTS, INVOICE_EVENTS)


def monthly_close_job(dbt_assets: dg.AssetsDefinition) -> dg.UnresolvedAssetJobDefinition:
    """The raw observation, `dbt_assets`, the issue step, documents and events of one month,
    with every check of those assets (dbt tests and GX suites alike)."""
    steps = (RAW_EVENTS, dbt_assets, *CLOSE_STEPS)
    return dg.define_asset_job(
        name=CLOSE_JOB_NAME,
        selection=dg.AssetSelection.assets(*steps) | dg.AssetSelection.checks_for_assets(*steps),
        partitions_def=MONTHLY,
        # One process for the whole run: the close lock (a session advisory lock) is taken
        # once and held from the raw observation to the last event published.
        executor_def=dg.in_process_executor,
        tags={CLOSE_TAG: "monthly"},
        description=(
            "The monthly close of one period: wait for the loader, check raw events, dbt build "
            "(tests as checks), GX suites, issue in one transaction, render PDFs, publish events."
        ),
    )


def monthly_close_schedule(
    job: dg.UnresolvedAssetJobDefinition,
) -> dg.ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition:
    """Closes the previous month's partition on the 1st at 03:00 UTC."""
    return dg.build_schedule_from_partitioned_job(
        job,
        name=CLOSE_SCHEDULE_NAME,
        description="Closes the previous month on the 1st at 03:00 UTC.",
        hour_of_day=3,
        minute_of_hour=0,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
