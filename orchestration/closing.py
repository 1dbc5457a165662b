"""Run one month's close through Dagster and read what happened, for `billing close`.

The run goes into a persistent DagsterInstance (DAGSTER_HOME = settings.dagster_home), so it
is in the UI's run history like a scheduled one.
"""

from __future__ import annotations

import contextlib
import io
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg

from billing import db
from billing.roles import Role
from billing.settings import Settings
from orchestration.defs.close.assets import ISSUED_INVOICES
from orchestration.defs.close.resources import CloseLockBusyError
from orchestration.defs.close.schedules import CLOSE_JOB_NAME, CLOSE_TAG
from orchestration.defs.documents.assets import INVOICE_DOCUMENTS, INVOICE_EVENTS
from orchestration.defs.partitions import partition_key_of, period_of
from orchestration.defs.preview.jobs import PREVIEW_TAG
from orchestration.defs.resources import BillingResource
from orchestration.refusals import REFUSAL, Refusal, refusal_of

log = logging.getLogger(__name__)

# Run tags: ours says who started a close from outside Dagster; Dagster's say the rest.
TRIGGER_TAG = "billing/trigger"
PARTITION_TAG = "dagster/partition"
SCHEDULE_TAG = "dagster/schedule_name"
BACKFILL_TAG = "dagster/backfill"

RECORD_CLOSE_RUN = """
    insert into billing.close_runs
        (run_id, period, outcome, reasons, trigger, started_at, finished_at, invoices_issued)
    values (%s, %s, %s, %s, %s, %s, %s, %s)
    on conflict (run_id) do nothing
"""

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
    - key: "{PREVIEW_TAG}"
      limit: 1
freshness:
  enabled: true
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
    """What a close run did, read from its events.

    A close that did not succeed was refused (`refusals` says why, nothing is broken: the
    lists below say what to fix) or failed (`errors`: something broke).
    """

    period: str
    run_id: str
    success: bool
    refusals: list[Refusal] = field(default_factory=list)
    failed_checks: list[FailedCheck] = field(default_factory=list)
    blockers: list[dict[str, Any]] = field(default_factory=list)
    loader: dict[str, Any] = field(default_factory=dict)  # the loader's progress, when behind
    failures: list[str] = field(default_factory=list)  # every failure, readable
    errors: list[str] = field(default_factory=list)  # the failures that are no refusal
    started_steps: list[str] = field(default_factory=list)
    materialized: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        """Stopped by refusals only (loader behind, blockers, checks, lock, issue guard)."""
        return not self.success and bool(self.refusals) and not self.errors

    @property
    def verdict(self) -> str:
        """succeeded, refused or failed (billing.close_runs.outcome)."""
        if self.success:
            return "succeeded"
        return "refused" if self.refused else "failed"

    @property
    def reasons(self) -> list[str]:
        """The refusal kinds, then the errors (first lines): why it did not succeed."""
        return [kind.value for kind in self.refusals] + [error[:300] for error in self.errors]

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

    def refuse(self, kind: Refusal) -> None:
        """Record a kind of refusal (once; listed in the order of the Refusal enum)."""
        if kind not in self.refusals:
            self.refusals = [k for k in Refusal if k in self.refusals or k is kind]


# Errors that are refusals, by type: raised where Dagster keeps no metadata (resources).
_REFUSING_ERRORS = {CloseLockBusyError.__name__: Refusal.CLOSE_LOCK_BUSY}
# Dagster's error when a blocking check failed (not exported): its check evaluation says why.
_BLOCKING_CHECK_FAILED = "DagsterAssetCheckFailedError"


def _plain(value: Any) -> Any:
    """A metadata value as plain Python (text, number, table rows)."""
    if isinstance(value, dg.TableMetadataValue):
        return [dict(record.data) for record in value.records]
    return getattr(value, "value", value)


def _error_types(error: Any) -> list[str]:
    """The class names along a SerializableErrorInfo's chain of causes."""
    names = []
    while error is not None:
        names.append(str(error.cls_name))
        error = error.cause
    return names


def _innermost(error: Any) -> str:
    """The first line of the deepest cause of a SerializableErrorInfo (the user's error)."""
    while error.cause is not None:
        error = error.cause
    lines = (error.message or "").strip().splitlines()
    return lines[0] if lines else str(error.cls_name)


def _typed_refusal(error: Any) -> Refusal | None:
    for name in _error_types(error):
        if name in _REFUSING_ERRORS:
            return _REFUSING_ERRORS[name]
    return None


def _read_check(outcome: CloseOutcome, evaluation: Any) -> None:
    if evaluation.passed:
        return
    outcome.failed_checks.append(
        FailedCheck(
            asset=evaluation.asset_key.to_user_string(),
            name=evaluation.check_name,
            description=evaluation.description or "",
        )
    )
    kind = refusal_of(evaluation.metadata) or Refusal.FAILED_CHECKS
    outcome.refuse(kind)
    if kind is Refusal.BLOCKERS:
        outcome.blockers = _plain(evaluation.metadata["blockers"])


def _read_step_failure(outcome: CloseOutcome, event: dg.DagsterEvent) -> None:
    data = event.step_failure_data
    if _BLOCKING_CHECK_FAILED in _error_types(data.error):
        return  # a blocking check stopped the step: its failed check is the refusal
    user = data.user_failure_data
    if user is not None and user.description:
        text = f"{event.step_key}: {user.description}"
    else:
        text = f"{event.step_key}: {_innermost(data.error) if data.error else 'failed'}"
    outcome.failures.append(text)
    kind = (refusal_of(user.metadata) if user is not None else None) or _typed_refusal(data.error)
    if kind is None:
        outcome.errors.append(text)
        return
    # The dbt build's failed tests are checks of their models, read as such already.
    if not (kind is Refusal.FAILED_CHECKS and outcome.failed_checks):
        outcome.refuse(kind)
    if kind is Refusal.LOADER_BEHIND and user is not None:
        outcome.loader = {
            name: _plain(value) for name, value in user.metadata.items() if name != REFUSAL
        }


def _read_run_error(outcome: CloseOutcome, error: Any) -> None:
    text = f"run: {_innermost(error)}"
    outcome.failures.append(text)
    kind = _typed_refusal(error)
    if kind is None:
        outcome.errors.append(text)
    else:
        outcome.refuse(kind)


def read_outcome(result: dg.ExecuteInProcessResult, period: str) -> CloseOutcome:
    """A CloseOutcome from the events of an in-process run."""
    return outcome_of_events(result.run_id, result.success, period, result.all_events)


def outcome_of_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> CloseOutcome:
    """A CloseOutcome of a finished close run, read from the instance's event log: for runs
    that `billing close` did not start (the schedule, the UI, a backfill)."""
    events = [
        entry.dagster_event
        for entry in instance.all_logs(run.run_id)
        if entry.dagster_event is not None
    ]
    period = period_of(run.tags[PARTITION_TAG])
    return outcome_of_events(run.run_id, run.status == dg.DagsterRunStatus.SUCCESS, period, events)


def run_times(instance: dg.DagsterInstance, run_id: str) -> tuple[datetime, datetime]:
    """When a finished run started and ended (now, for a run that never started)."""
    record = instance.get_run_record_by_id(run_id)
    now = datetime.now(UTC)
    if record is None:
        return now, now
    ended = datetime.fromtimestamp(record.end_time, UTC) if record.end_time else now
    started = datetime.fromtimestamp(record.start_time, UTC) if record.start_time else ended
    return started, max(started, ended)


def trigger_of(tags: Mapping[str, str]) -> str:
    """Who launched a run: `billing close` says so in its tag; Dagster tags the rest."""
    if TRIGGER_TAG in tags:
        return tags[TRIGGER_TAG]
    if SCHEDULE_TAG in tags:
        return "schedule"
    if BACKFILL_TAG in tags:
        return "backfill"
    return "ui"


def outcome_of_events(
    run_id: str, success: bool, period: str, events: Iterable[dg.DagsterEvent]
) -> CloseOutcome:
    """A CloseOutcome from a close run's events."""
    outcome = CloseOutcome(period=period, run_id=run_id, success=success)
    for event in events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            _read_check(outcome, event.asset_check_evaluation_data)
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            outcome.materialized[materialization.asset_key.to_user_string()] = {
                name: _plain(value) for name, value in materialization.metadata.items()
            }
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            _read_step_failure(outcome, event)
        elif event.event_type == dg.DagsterEventType.RESOURCE_INIT_FAILURE:
            error = getattr(event.event_specific_data, "error", None)
            if error is not None:
                _read_run_error(outcome, error)
        elif event.event_type == dg.DagsterEventType.RUN_FAILURE:
            # It repeats the step or resource failure read above; alone, it is the reason.
            error = getattr(event.event_specific_data, "error", None)
            if error is not None and not (outcome.failures or outcome.refusals):
                _read_run_error(outcome, error)
        elif event.event_type == dg.DagsterEventType.STEP_START:
            outcome.started_steps.append(str(event.step_key))
    if not outcome.success and not (outcome.refusals or outcome.errors):
        outcome.errors.append("run: failed (no step reported why: see the run in the UI)")
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
    started_at = datetime.now(UTC)
    sink: io.TextIOBase = io.StringIO() if log_file is None else log_file.open("a")
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            result = job.execute_in_process(
                partition_key=partition_key,
                instance=instance,
                raise_on_error=False,
                tags={TRIGGER_TAG: trigger},
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            )
    finally:
        sink.close()
    outcome = read_outcome(result, period)
    billing = (defs.resources or {}).get("billing")
    if isinstance(billing, BillingResource):
        record_close_run(billing, outcome, started_at, datetime.now(UTC), trigger)
    return outcome


def record_close_run(
    billing: BillingResource,
    outcome: CloseOutcome,
    started_at: datetime,
    finished_at: datetime,
    trigger: str,
) -> bool:
    """Append the run to billing.close_runs (the exporter's close metrics read it).

    A database that cannot take the row (it may be why the close failed) is logged, never
    raised: the close's own outcome is what the caller reports.
    """
    url, role = billing.role_url(Role.TRANSFORMER)
    try:
        with db.connect(url, role=role) as conn:
            conn.execute(
                RECORD_CLOSE_RUN,
                (
                    outcome.run_id,
                    outcome.period,
                    outcome.verdict,
                    outcome.reasons,
                    trigger,
                    started_at,
                    finished_at,
                    int(outcome.issued.get("invoices_issued", 0)),
                ),
            )
    except psycopg.Error as error:
        log.warning("close run %s not recorded in billing.close_runs: %s", outcome.run_id, error)
        return False
    return True


def record_refused_before_run(
    billing: BillingResource, period: str, waited_seconds: float, kind: Refusal
) -> bool:
    """Record a close that `billing close` refused before starting its Dagster run (the
    loader behind): a run of its own id, so every attempt to close is in billing.close_runs."""
    finished_at = datetime.now(UTC)
    outcome = CloseOutcome(
        period=period, run_id=f"refused-before-run-{uuid.uuid4()}", success=False
    )
    outcome.refuse(kind)
    started_at = finished_at - timedelta(seconds=waited_seconds)
    return record_close_run(billing, outcome, started_at, finished_at, "cli")
