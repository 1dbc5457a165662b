"""The close job (one month, one run) and its schedule: the 1st at 03:00 UTC, previous month."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.close.assets import ISSUED_INVOICES
from orchestration.defs.dbt.assets import billing_dbt
from orchestration.defs.documents.assets import INVOICE_DOCUMENTS, INVOICE_EVENTS
from orchestration.defs.partitions import MONTHLY
from orchestration.defs.raw.assets import RAW_EVENTS

CLOSE_JOB_NAME = "monthly_close"
CLOSE_TAG = "billing/close"
CLOSE_STEPS = (ISSUED_INVOICES, INVOICE_DOCUMENTS, INVOICE_EVENTS)

monthly_close = dg.define_asset_job(
    name=CLOSE_JOB_NAME,
    # Everything from the raw observation to the events, with every check of those assets
    # (dbt tests and GX suites alike).
    selection=(
        dg.AssetSelection.assets(RAW_EVENTS, billing_dbt, *CLOSE_STEPS)
        | dg.AssetSelection.checks_for_assets(RAW_EVENTS, billing_dbt, *CLOSE_STEPS)
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
