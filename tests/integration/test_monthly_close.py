"""The monthly close as a Dagster run, in process, against the test PostgreSQL and NATS.

Each close runs the real job: raw observation, GX suites, `dbt build` (dagster-dbt), the issue
macro, WeasyPrint PDFs and the outbox publisher. Data is tiny; the costs are dbt's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from billing.localservices import free_port
from billing.locks import LOCK_SQL, Lock
from orchestration.closing import SCHEDULE_TAG, CloseOutcome, read_outcome
from orchestration.definitions import build_definitions
from orchestration.defs.close.assets import ISSUED_INVOICES
from orchestration.defs.close.schedules import CLOSE_JOB_NAME, CLOSE_SCHEDULE_NAME
from orchestration.defs.close.sensors import close_run_sensor_name
from orchestration.defs.raw.assets import RAW_EVENTS
from orchestration.defs.resources import BillingResource
from orchestration.refusals import Refusal
from tests.integration.test_close_precondition import publish
from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.coverage import subprocess_environment

PERIOD = "2026-10"
TENANT_A = uuid.UUID("a0000000-0000-4000-8000-00000000000a")
TENANT_B = uuid.UUID("b0000000-0000-4000-8000-00000000000b")
UNKNOWN_TENANT = uuid.UUID("e0000000-0000-4000-8000-00000000000e")
# The documents step's run config (RenderConfig): one process is enough for a few PDFs.
ONE_RENDER_WORKER = {"ops": {"billing__invoice_documents": {"config": {"workers": 1}}}}


def rows(database_url: str, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, parameters).fetchall()


@pytest.fixture
def billing(database_url: str, nats_url: str, tmp_path: Path) -> BillingResource:
    return BillingResource(
        database_url=database_url,
        nats_url=nats_url,
        state_dir=str(tmp_path / "state"),
        documents_uri=(tmp_path / "documents").as_uri(),
        close_wait_seconds=2,
    )


def changed(billing: BillingResource, **overrides: Any) -> BillingResource:
    return BillingResource(**{**billing.model_dump(), **overrides})


def close(
    billing: BillingResource,
    lock_wait: float = 900.0,
    period: str = PERIOD,
    only: list[dg.AssetKey] | None = None,
) -> CloseOutcome:
    """The monthly_close job for `period` in process (`only`: a subset of its assets)."""
    defs = build_definitions(billing, close_lock_wait_seconds=lock_wait)
    result = defs.resolve_job_def(CLOSE_JOB_NAME).execute_in_process(
        partition_key=f"{period}-01",
        raise_on_error=False,
        run_config=ONE_RENDER_WORKER if only is None else None,
        asset_selection=only,
    )
    return read_outcome(result, period)


def billing_cli(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run the `billing` command of this virtual environment."""
    return subprocess.run(
        [str(Path(sys.prefix) / "bin" / "billing"), *arguments],
        env={**os.environ, **subprocess_environment(), "COLUMNS": "200", **environment},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def land_month(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A, currency="EUR", tier="starter")
        add_account(conn, TENANT_B, currency="USD", tier="business")
        land_events(
            conn,
            [Event(TENANT_A, at("2026-10-03"), "orange_fr", "outbound", 2) for _ in range(10)]
            + [Event(TENANT_B, at("2026-10-18"), "bt_uk", "outbound", 3) for _ in range(5)],
        )


def test_a_month_is_closed_then_closing_again_issues_nothing_and_stale_drafts_are_refused(
    billing: BillingResource, database_url: str, nats_url: str, tmp_path: Path
) -> None:
    land_month(database_url)

    # The first close as an operator runs it: `billing close`, its report on 80 columns.
    first = billing_cli(
        "close",
        "--month",
        PERIOD,
        COLUMNS="80",
        BILLING_DATABASE_URL=database_url,
        BILLING_NATS_URL=nats_url,
        BILLING_STATE_DIR=str(tmp_path / "state"),
        BILLING_DOCUMENTS_URI=(tmp_path / "documents").as_uri(),
        BILLING_CLOSE_WAIT_SECONDS="2",
    )

    assert first.returncode == 0, first.stdout + first.stderr
    report = first.stdout
    assert (
        "2026-10 closed: 2 invoice(s) issued (INV-202610-000001 .. INV-202610-000002), "
        "15 events billed" in report
    )
    rows_shown = [line.split() for line in report.splitlines()]
    assert ["EUR", "1", "50.29"] in rows_shown  # the period's totals per currency
    assert ["USD", "1", "215.65"] in rows_shown
    assert f"documents: 2 recorded under {(tmp_path / 'documents').as_uri()}" in report
    assert "events: 2 published to NATS" in report
    # The marts were built for the partition's month, and issued in one transaction.
    assert rows(
        database_url, "select count(*), min(period), max(period) from billing.invoice_drafts"
    ) == [(2, PERIOD, PERIOD)]
    invoices = rows(
        database_url,
        "select invoice_number, tenant_id, currency, total from billing.issued_invoices"
        " order by invoice_number",
    )
    # A: 48.99 fee + 20 segments x 0.0651 = 1.30; B: 214.99 fee + 15 x 0.044064 = 0.66.
    assert invoices == [
        ("INV-202610-000001", TENANT_A, "EUR", Decimal("50.29")),
        ("INV-202610-000002", TENANT_B, "USD", Decimal("215.65")),
    ]
    pdfs = sorted(path.name for path in (tmp_path / "documents").rglob("*.pdf"))
    assert pdfs == ["INV-202610-000001.pdf", "INV-202610-000002.pdf"]
    # The close recorded its run where the exporter reads it (billing.close_runs).
    assert rows(
        database_url,
        "select period, outcome, reasons, trigger, invoices_issued, finished_at > started_at"
        " from billing.close_runs",
    ) == [(PERIOD, "succeeded", [], "cli", 2, True)]

    # A late event of October arrives after the close: it waits for November's close.
    with psycopg.connect(database_url) as conn:
        land_events(conn, [Event(TENANT_A, at("2026-10-30"), "orange_fr", "outbound", 1)])

    second = close(billing)

    assert second.success, second.failures
    assert second.issued["invoices_issued"] == 0
    assert rows(database_url, "select count(*) from billing.issued_invoices") == [(2,)]
    assert rows(database_url, "select period, kind, invoice_count from billing.period_closes") == [
        (PERIOD, "close", 2)
    ]

    # The drafts in the database are October's: issuing September from them is refused.
    stale = close(billing, period="2026-09", only=[ISSUED_INVOICES])

    assert (stale.refusals, stale.errors, stale.refused) == ([Refusal.ISSUE_REFUSED], [], True)
    [failure] = stale.failures
    assert "the drafts were built for another period than 2026-09" in failure
    assert rows(database_url, "select count(*) from billing.issued_invoices") == [(2,)]


def test_negative_segments_in_raw_fail_the_raw_suite_and_billing_close_refuses(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    land_month(database_url)
    with psycopg.connect(database_url) as conn:
        land_events(conn, [Event(TENANT_A, at("2026-10-05"), "orange_fr", "outbound", -4)])
    state_dir = tmp_path / "state"

    done = billing_cli(
        "close",
        "--month",
        PERIOD,
        BILLING_DATABASE_URL=database_url,
        BILLING_NATS_URL=nats_url,
        BILLING_STATE_DIR=str(state_dir),
        BILLING_DOCUMENTS_URI=(tmp_path / "documents").as_uri(),
    )

    assert done.returncode == 2, done.stdout + done.stderr
    report = " ".join(done.stderr.split())
    assert "raw/message_charged" in report
    assert "raw_events_suite" in report
    assert "ExpectColumnValuesToBeBetween(segments): 1 unexpected; e.g. -4" in report
    assert "close of 2026-10 refused (failed checks)" in report
    assert rows(database_url, "select count(*) from billing.issued_invoices") == [(0,)]
    assert rows(
        database_url, "select period, outcome, reasons, invoices_issued from billing.close_runs"
    ) == [(PERIOD, "refused", ["failed_checks"], 0)]
    # The run is in the persistent instance the UI reads; the blocking check stopped dbt.
    instance = dg.DagsterInstance.from_config(str(state_dir / "dagster"))
    [run] = instance.get_runs()
    assert (run.job_name, run.tags.get("dagster/partition"), run.is_failure) == (
        CLOSE_JOB_NAME,
        f"{PERIOD}-01",
        True,
    )
    started = {
        record.event_log_entry.step_key
        for record in instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.STEP_START
        ).records
    }
    assert started == {"raw__message_charged", "raw__message_charged_raw_events_suite"}


def test_an_unknown_tenant_fails_the_close_blockers_check_with_the_list(
    billing: BillingResource, database_url: str
) -> None:
    land_month(database_url)
    with psycopg.connect(database_url) as conn:
        unknown = Event(UNKNOWN_TENANT, at("2026-10-07"), "bt_uk", "inbound", 1)
        land_events(conn, [unknown])

    outcome = close(billing)

    assert not outcome.success
    assert outcome.refused
    # The unknown account is a blocker, and leaves a hole in the catalogue coverage test.
    assert outcome.refusals == [Refusal.BLOCKERS, Refusal.FAILED_CHECKS]
    assert outcome.errors == []
    failed = {(check.asset, check.name) for check in outcome.failed_checks}
    assert ("billing/close_blockers", "is_empty_close_blockers_") in failed
    assert ("billing/catalogue_coverage", "is_empty_catalogue_coverage_") in failed
    assert outcome.blockers == [
        {
            "blocker": "unpriced_events",
            "subject": "2026-10 unknown_account -/bt_uk/inbound/-",
            "item_count": 1,
            "remedy": "import the account (billing accounts import)",
            "remedy_command": (
                "billing accounts import ACCOUNTS.csv; then: billing close --month 2026-10"
            ),
            "exclude_command": f"billing events exclude {unknown.event_id}"
            " --reason 'why they can never be billed'",
        }
    ]
    assert any("dbt build of 2026-10 failed" in failure for failure in outcome.failures)
    assert "billing_dbt" in outcome.started_steps
    assert "billing__issued_invoices" not in outcome.started_steps
    assert rows(database_url, "select count(*) from billing.issued_invoices") == [(0,)]


def test_a_close_waits_for_the_close_lock_and_gives_up_readably(
    billing: BillingResource, database_url: str
) -> None:
    land_month(database_url)
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute(LOCK_SQL, (Lock.CLOSE,))

        outcome = close(billing, lock_wait=0.5)

    assert not outcome.success
    assert (outcome.refusals, outcome.errors, outcome.refused) == (
        [Refusal.CLOSE_LOCK_BUSY],
        [],
        True,
    )
    [failure] = outcome.failures
    assert "another close has held the close lock" in failure
    assert outcome.started_steps == []
    assert rows(database_url, "select count(*) from billing.issued_invoices") == [(0,)]


def test_a_failed_raw_suite_is_a_refusal_of_failed_checks(
    billing: BillingResource, database_url: str
) -> None:
    land_month(database_url)
    with psycopg.connect(database_url) as conn:
        land_events(conn, [Event(TENANT_A, at("2026-10-05"), "orange_fr", "outbound", -4)])

    outcome = close(billing)

    assert (outcome.refusals, outcome.errors, outcome.refused) == (
        [Refusal.FAILED_CHECKS],
        [],
        True,
    )
    assert [(c.asset, c.name) for c in outcome.failed_checks] == [
        ("raw/message_charged", "raw_events_suite")
    ]
    assert outcome.failures == []  # the check says it all; nothing else failed


def scheduled_close(
    billing: BillingResource, instance: dg.DagsterInstance, only: list[dg.AssetKey] | None = None
) -> dg.ExecuteInProcessResult:
    """The close job as the schedule launches it (its tags), not through `billing close`."""
    defs = build_definitions(billing, close_lock_wait_seconds=0.5)
    return defs.resolve_job_def(CLOSE_JOB_NAME).execute_in_process(
        partition_key=f"{PERIOD}-01",
        instance=instance,
        raise_on_error=False,
        tags={SCHEDULE_TAG: CLOSE_SCHEDULE_NAME},
        asset_selection=only,
    )


def record_with_sensor(
    billing: BillingResource,
    instance: dg.DagsterInstance,
    result: dg.ExecuteInProcessResult,
    status: dg.DagsterRunStatus,
) -> None:
    """Evaluate the run-status sensor for `status` on the finished run, as the daemon does."""
    defs = build_definitions(billing)
    name = close_run_sensor_name(status)
    sensor = defs.resolve_sensor_def(name)
    event = result.get_run_success_event() if result.success else result.get_run_failure_event()
    context = dg.build_run_status_sensor_context(
        sensor_name=name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"billing": billing},
    )
    sensor(context)  # a run-status sensor is invocable with its context


def test_closes_launched_by_the_schedule_are_recorded_by_the_run_status_sensors(
    billing: BillingResource, database_url: str
) -> None:
    land_month(database_url)
    instance = dg.DagsterInstance.ephemeral()
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute(LOCK_SQL, (Lock.CLOSE,))
        refused = scheduled_close(billing, instance)
    succeeded = scheduled_close(billing, instance, only=[RAW_EVENTS])
    assert (refused.success, succeeded.success) == (False, True)

    record_with_sensor(billing, instance, refused, dg.DagsterRunStatus.FAILURE)
    record_with_sensor(billing, instance, succeeded, dg.DagsterRunStatus.SUCCESS)
    record_with_sensor(billing, instance, succeeded, dg.DagsterRunStatus.SUCCESS)  # once only

    recorded = rows(
        database_url,
        "select run_id, period, outcome, reasons, trigger, finished_at >= started_at"
        " from billing.close_runs order by started_at",
    )
    assert recorded == [
        (refused.run_id, PERIOD, "refused", ["close_lock_busy"], "schedule", True),
        (succeeded.run_id, PERIOD, "succeeded", [], "schedule", True),
    ]
    # The daemon evaluates them from the start: a close of the schedule or the UI is recorded
    # whether or not someone turned the sensors on.
    sensors = build_definitions(billing).sensors or []
    assert {
        sensor.name: sensor.default_status
        for sensor in sensors
        if sensor.name.startswith("record_")
    } == {
        close_run_sensor_name(status): dg.DefaultSensorStatus.RUNNING
        for status in (
            dg.DagsterRunStatus.SUCCESS,
            dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED,
        )
    }


def test_a_loader_behind_is_a_refusal_with_its_progress(
    billing: BillingResource, database_url: str, nats_url: str
) -> None:
    land_month(database_url)
    publish(nats_url, 3)  # in the stream, never landed: no loader runs

    outcome = close(changed(billing, close_wait_seconds=0.5))

    assert (outcome.refusals, outcome.errors, outcome.refused) == (
        [Refusal.LOADER_BEHIND],
        [],
        True,
    )
    assert outcome.loader["stream_last_sequence_at_start"] == 3
    assert outcome.loader["loader_high_water_mark"] == 0
    assert "the loader is behind" in outcome.failures[0]
    assert "billing_dbt" not in outcome.started_steps


def test_an_error_is_no_refusal(billing: BillingResource) -> None:
    nowhere = f"postgresql://billing@127.0.0.1:{free_port()}/billing"

    outcome = close(changed(billing, database_url=nowhere))

    assert not outcome.success
    assert (outcome.refusals, outcome.refused) == ([], False)
    [error] = outcome.errors
    assert "connection" in error.lower()
    assert outcome.started_steps == []


def test_billing_close_refuses_a_month_that_has_not_ended(tmp_path: Path) -> None:
    done = billing_cli(
        "close",
        "--month",
        "2999-01",
        BILLING_STATE_DIR=str(tmp_path),
        BILLING_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
        BILLING_NATS_URL="nats://127.0.0.1:1",
    )
    assert done.returncode == 2  # refused: nothing was done
    assert "2999-01 has not ended yet" in done.stderr
