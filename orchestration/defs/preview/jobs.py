"""The preview's job, its schedule (hourly by default) and its sensor on new landed events."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.preview.assets import (
    CURRENT_MONTH_PREVIEW,
    LAST_STREAM_SEQUENCE,
    transformer_connection,
)
from orchestration.defs.resources import BillingResource

PREVIEW_JOB_NAME = "preview_refresh"
PREVIEW_SCHEDULE_NAME = "preview_refresh_schedule"
PREVIEW_SENSOR_NAME = "preview_on_new_events"
PREVIEW_TAG = "billing/preview"
SENSOR_INTERVAL_SECONDS = 120


def preview_refresh_job() -> dg.UnresolvedAssetJobDefinition:
    """The current month's preview alone: its dbt build, never the issue step."""
    return dg.define_asset_job(
        name=PREVIEW_JOB_NAME,
        selection=dg.AssetSelection.assets(CURRENT_MONTH_PREVIEW),
        # One process: the close lock (a session advisory lock) is held by the build itself.
        executor_def=dg.in_process_executor,
        tags={PREVIEW_TAG: "current_month"},
        description=(
            "Rebuilds the current month's preview (DRAFT invoices, unpriced events, coverage "
            "gaps) with the close's dbt models, under the close lock; issues nothing."
        ),
    )


def preview_refresh_schedule(
    job: dg.UnresolvedAssetJobDefinition, cron: str
) -> dg.ScheduleDefinition:
    """Refreshes the preview on `cron` (UTC; BILLING_PREVIEW_CRON, hourly by default)."""
    return dg.ScheduleDefinition(
        name=PREVIEW_SCHEDULE_NAME,
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Refreshes the current month's preview ({cron}, UTC).",
    )


def _new_events(billing: BillingResource, after: int) -> tuple[int, int]:
    """How many events landed after stream sequence `after`, and the newest sequence."""
    with transformer_connection(billing) as conn:
        row = conn.execute(
            "select count(*), coalesce(max(stream_sequence), %(after)s)"
            " from raw.message_charged where stream_sequence > %(after)s",
            {"after": after},
        ).fetchone()
    return (int(str(row[0])), int(str(row[1]))) if row else (0, after)


def _built_up_to(context: dg.SensorEvaluationContext) -> int:
    """The newest event the last preview saw: its materialization's, or the last request's."""
    requested = int(context.cursor) if context.cursor and context.cursor.isdigit() else 0
    built = 0
    event = context.instance.get_latest_materialization_event(CURRENT_MONTH_PREVIEW)
    materialization = event.asset_materialization if event else None
    if materialization is not None:
        value = materialization.metadata.get(LAST_STREAM_SEQUENCE)
        built = int(value.value) if isinstance(value, dg.IntMetadataValue) and value.value else 0
    return max(requested, built)


def preview_events_sensor(job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    """Requests a refresh once BILLING_PREVIEW_EVENT_THRESHOLD events have landed since the
    last preview (read at each evaluation)."""

    @dg.sensor(
        name=PREVIEW_SENSOR_NAME,
        job=job,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Refreshes the current month's preview when BILLING_PREVIEW_EVENT_THRESHOLD new "
            "events have landed since the last preview build."
        ),
    )
    def preview_on_new_events(
        context: dg.SensorEvaluationContext, billing: BillingResource
    ) -> dg.SensorResult | dg.SkipReason:
        threshold = billing.settings().preview_event_threshold
        since = _built_up_to(context)
        new, newest = _new_events(billing, since)
        if new < threshold:
            return dg.SkipReason(
                f"{new} event(s) landed since the last preview (stream sequence {since}); "
                f"a refresh needs {threshold}"
            )
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"events-{since}-{newest}")],
            cursor=str(newest),
        )

    return preview_on_new_events
