"""Run one month's close through Dagster and read what happened, for `billing close`.

The run goes into a persistent DagsterInstance (DAGSTER_HOME = settings.dagster_home), so it
is in the UI's run history like a scheduled one.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from billing.settings import Settings
from orchestration.defs.close.assets import ISSUED_INVOICES
from orchestration.defs.close.schedules import CLOSE_JOB_NAME, CLOSE_TAG
from orchestration.defs.documents.assets import INVOICE_DOCUMENTS, INVOICE_EVENTS
from orchestration.defs.partitions import partition_key_of

# The instance's settings: closes queue one at a time when launched from the UI or the
# schedule (the run coordinator reads this); `billing close` also takes the close lock.
INSTANCE_YAML = f"""\
telemetry:
  enabled: false
run_queue:
  max_concurrent_runs: 4
  tag_concurrency_limits:
    - key: "{CLOSE_TAG}"
      limit: 1
"""


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance under settings.dagster_home (created on first use)."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML)
    return dg.DagsterInstance.from_config(str(home))


@dataclass(frozen=True)
class FailedCheck:
    """A check that did not pass: dbt test or Great Expectations suite."""

    asset: str
    name: str
    description: str


@dataclass
class CloseOutcome:
    """What a close run did, read from its events."""

    period: str
    run_id: str
    success: bool
    failed_checks: list[FailedCheck] = field(default_factory=list)
    blockers: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    started_steps: list[str] = field(default_factory=list)
    materialized: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        """Stopped by a check, a blocker or the loader precondition (not by an error)."""
        return not self.success and (
            bool(self.failed_checks) or any("loader is behind" in f for f in self.failures)
        )

    @property
    def issued(self) -> dict[str, Any]:
        """Metadata of the issue step (empty when it did not run)."""
        return self.materialized.get(ISSUED_INVOICES.to_user_string(), {})

    @property
    def documents(self) -> dict[str, Any]:
        return self.materialized.get(INVOICE_DOCUMENTS.to_user_string(), {})

    @property
    def events(self) -> dict[str, Any]:
        return self.materialized.get(INVOICE_EVENTS.to_user_string(), {})


def _plain(value: Any) -> Any:
    """A metadata value as plain Python (text, number, table rows)."""
    if isinstance(value, dg.TableMetadataValue):
        return [dict(record.data) for record in value.records]
    return getattr(value, "value", value)


def _innermost(error: Any) -> str:
    """The first line of the deepest cause of a SerializableErrorInfo (the user's error)."""
    while error.cause is not None:
        error = error.cause
    lines = (error.message or "").strip().splitlines()
    return lines[0] if lines else str(error.cls_name)


def _failure_text(event: dg.DagsterEvent) -> str:
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return str(data.user_failure_data.description)
    if data.error is not None:
        return _innermost(data.error)
    return "failed"


def read_outcome(result: dg.ExecuteInProcessResult, period: str) -> CloseOutcome:
    """A CloseOutcome from the events of an in-process run."""
    outcome = CloseOutcome(period=period, run_id=result.run_id, success=result.success)
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            if evaluation.passed:
                continue
            outcome.failed_checks.append(
                FailedCheck(
                    asset=evaluation.asset_key.to_user_string(),
                    name=evaluation.check_name,
                    description=evaluation.description or "",
                )
            )
            if "blockers" in evaluation.metadata:  # the close_blockers test (dbt/blockers.py)
                outcome.blockers = _plain(evaluation.metadata["blockers"])
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            outcome.materialized[materialization.asset_key.to_user_string()] = {
                name: _plain(value) for name, value in materialization.metadata.items()
            }
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            text = _failure_text(event)
            if "blocking asset check" not in text:  # listed as failed checks already
                outcome.failures.append(f"{event.step_key}: {text}")
        elif event.event_type in (
            dg.DagsterEventType.RUN_FAILURE,
            dg.DagsterEventType.RESOURCE_INIT_FAILURE,
        ):
            error = getattr(event.event_specific_data, "error", None)
            text = _innermost(error) if error is not None else ""
            if text and "blocking asset check" not in text:
                outcome.failures.append(f"run: {text}")
        elif event.event_type == dg.DagsterEventType.STEP_START:
            outcome.started_steps.append(str(event.step_key))
    return outcome


def run_close(
    defs: dg.Definitions,
    period: str,
    instance: dg.DagsterInstance,
    *,
    trigger: str = "cli",
    log_file: Path | None = None,
) -> CloseOutcome:
    """Run the monthly_close job for `period` in this process, recorded in `instance`.

    dbt's output and Dagster's step logs go to `log_file` (and to the instance: the UI
    shows them); the caller prints the outcome.
    """
    job = defs.resolve_job_def(CLOSE_JOB_NAME)
    partition_key = partition_key_of(period)
    sink: io.TextIOBase = io.StringIO() if log_file is None else log_file.open("a")
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            result = job.execute_in_process(
                partition_key=partition_key,
                instance=instance,
                raise_on_error=False,
                tags={"billing/trigger": trigger},
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            )
    finally:
        sink.close()
    return read_outcome(result, period)
