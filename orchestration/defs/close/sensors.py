"""Every close run lands in billing.close_runs, however it was launched.

`billing close` records its own run as it ends (orchestration/closing.py); a run launched by
the schedule, the UI or a backfill is recorded by these run-status sensors (the Dagster
daemon evaluates them), so the exporter's close metrics and alerts see every run. A run
recorded twice is one row (run_id is the key).
"""

from __future__ import annotations

import dagster as dg

from orchestration.closing import outcome_of_run, record_close_run, run_times, trigger_of
from orchestration.defs.resources import BillingResource

# A run ends in one of these; each has its sensor (a run-status sensor watches one status).
FINISHED = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)


def close_run_sensor_name(status: dg.DagsterRunStatus) -> str:
    return f"record_close_runs_{status.value.lower()}"


def close_run_sensors(job: dg.UnresolvedAssetJobDefinition) -> list[dg.RunStatusSensorDefinition]:
    """One sensor per way a run of `job` can end, each recording the run."""
    return [_close_run_sensor(job, status) for status in FINISHED]


def _close_run_sensor(
    job: dg.UnresolvedAssetJobDefinition, status: dg.DagsterRunStatus
) -> dg.RunStatusSensorDefinition:
    @dg.run_status_sensor(
        run_status=status,
        name=close_run_sensor_name(status),
        monitored_jobs=[job],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Records each {status.value.lower()} close run in billing.close_runs.",
    )
    def record(context: dg.RunStatusSensorContext, billing: BillingResource) -> None:
        run = context.dagster_run
        outcome = outcome_of_run(context.instance, run)
        started_at, finished_at = run_times(context.instance, run.run_id)
        if status is dg.DagsterRunStatus.CANCELED:
            outcome.errors = ["run: canceled (from the UI or by an operator)"]
        record_close_run(billing, outcome, started_at, finished_at, trigger_of(run.tags))
        context.log.info(f"close run {run.run_id} ({outcome.period}): {outcome.verdict}")

    return record
