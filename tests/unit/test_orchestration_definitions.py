"""The Dagster Definitions load, wire the close as designed, and schedule the previous month;
the current month's preview has its job, schedule, sensor and freshness."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.definitions.freshness import TimeWindowFreshnessPolicy

from billing.periods import InvalidPeriodError
from orchestration.definitions import build_definitions
from orchestration.definitions import defs as load_defs
from orchestration.defs.close.assets import ISSUED_INVOICES
from orchestration.defs.close.schedules import CLOSE_JOB_NAME, CLOSE_SCHEDULE_NAME
from orchestration.defs.documents.assets import INVOICE_DOCUMENTS, INVOICE_EVENTS
from orchestration.defs.partitions import PeriodNotClosableError, partition_key_of
from orchestration.defs.preview.assets import CURRENT_MONTH_PREVIEW, current_period
from orchestration.defs.preview.jobs import (
    PREVIEW_JOB_NAME,
    PREVIEW_SCHEDULE_NAME,
    PREVIEW_SENSOR_NAME,
)
from orchestration.defs.raw.assets import RAW_EVENTS
from orchestration.defs.resources import BillingResource
from warehouse.transform import DBT_PROJECT_DIR

INVOICE_DRAFTS = dg.AssetKey(["billing", "invoice_drafts"])


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    """The code location's Definitions, loaded as `dagster-webserver -m` loads them."""
    return load_defs()


def test_the_definitions_load_and_the_close_job_resolves(defs: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_job_def(CLOSE_JOB_NAME)
    assert job.executor_def is dg.in_process_executor  # one process: the close lock holds
    graph = defs.resolve_asset_graph()
    # Every upstream of the issue step is an asset the close builds (no stub from a typo).
    for key in graph.get(ISSUED_INVOICES).parent_keys:
        assert graph.get(key).is_materializable, key
    assert graph.get(INVOICE_EVENTS).parent_keys == {INVOICE_DOCUMENTS}
    assert graph.get(INVOICE_DOCUMENTS).parent_keys == {ISSUED_INVOICES}
    assert graph.get(RAW_EVENTS).is_observable


def test_dbt_nodes_are_grouped_by_layer_marts_by_purpose_and_the_catalogues_are_seeds(
    defs: dg.Definitions,
) -> None:
    graph = defs.resolve_asset_graph()
    groups: dict[str, set[str]] = {}
    for key in graph.materializable_asset_keys:
        groups.setdefault(str(graph.get(key).group_name), set()).add(key.to_user_string())
    assert {"staging", "intermediate", "catalogue", "invoicing", "pricing", "close"} <= set(groups)
    assert "marts" not in groups  # every mart is in a folder of models/marts/
    assert "staging/stg_raw__message_charged" in groups["staging"]
    assert "staging/stg_issued__invoices" in groups["staging"]
    assert "intermediate/int_charges_priced" in groups["intermediate"]
    assert {"catalogue/pricing_rules", "catalogue/operator_costs", "catalogue/tier_fees"} <= (
        groups["catalogue"]
    )
    # The invoice marts sit with the issue step, the documents and the events.
    assert groups["invoicing"] == {
        "billing/invoice_drafts",
        "billing/invoice_draft_lines",
        "billing/invoice_draft_events",
        "billing/invoice_previews",
        "billing/invoice_preview_lines",
        "billing/invoices",
        "billing/invoice_lines",
        "billing/issued_invoices",
        "billing/invoice_documents",
        "billing/invoice_events",
        "billing/written_off_events",
        "billing/written_off_fee_days",
        "billing/current_month_preview",
    }
    assert groups["pricing"] == {
        "billing/priced_charges",
        "billing/charge_margins",
        "billing/unpriced_charges",
        "billing/margins",
        "billing/catalogue_coverage",
        "billing/charge_conflicts",
    }
    assert groups["close"] == {"billing/close_blockers"}


def test_checks_are_wired_and_the_gx_suites_block(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    checks = {
        key.asset_key.to_user_string() + ":" + key.name: key for key in graph.asset_check_keys
    }
    # dbt tests became checks, next to the GX suites.
    assert "billing/close_blockers:is_empty_close_blockers_" in checks
    assert "billing/invoice_drafts:unique_invoice_drafts_invoice_number" in checks
    for name in (
        "raw/message_charged:raw_events_suite",
        "billing/invoice_drafts:invoice_drafts_suite",
        "billing/issued_invoices:issued_invoices_suite",
    ):
        assert graph.get_check_spec(checks[name]).blocking, name
    job = defs.resolve_job_def(CLOSE_JOB_NAME)
    assert {key.name for key in job.asset_layer.asset_graph.asset_check_keys} >= {
        "raw_events_suite",
        "invoice_drafts_suite",
        "issued_invoices_suite",
    }


@pytest.mark.parametrize(
    ("tick", "partition"),
    [
        (datetime(2026, 12, 1, 3, 0, tzinfo=UTC), "2026-11-01"),
        (datetime(2027, 1, 1, 3, 0, tzinfo=UTC), "2026-12-01"),
    ],
)
def test_the_schedule_closes_the_previous_month_on_the_1st_at_3(
    defs: dg.Definitions, tick: datetime, partition: str
) -> None:
    monthly_close_schedule = defs.resolve_schedule_def(CLOSE_SCHEDULE_NAME)
    assert monthly_close_schedule.cron_schedule == "0 3 1 * *"
    assert monthly_close_schedule.execution_timezone in (None, "UTC")
    result = monthly_close_schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=tick)
    )
    assert [request.partition_key for request in result.run_requests or []] == [partition]
    assert monthly_close_schedule.job_name == CLOSE_JOB_NAME


def test_a_month_is_closable_only_once_it_has_ended() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert partition_key_of("2026-10", now) == "2026-10-01"
    with pytest.raises(PeriodNotClosableError, match="has not ended yet"):
        partition_key_of("2026-11", now)
    assert partition_key_of("2026-11", datetime(2026, 12, 1, tzinfo=UTC)) == "2026-11-01"
    with pytest.raises(PeriodNotClosableError, match="before the first billing period"):
        partition_key_of("2024-12", now)
    with pytest.raises(InvalidPeriodError, match="not a month"):
        partition_key_of("2026-13", now)


def test_importing_the_code_location_reads_no_dbt_file_and_runs_nothing() -> None:
    # An audit hook sees every file opened and every process started by the import (a
    # library runs `file -b python` through platform.architecture(): only dbt's count).
    probe = f"""
import sys
seen = []
def audit(event, args):
    if event == "open" and str(args[0]).startswith({str(DBT_PROJECT_DIR)!r}):
        seen.append(str(args[0]))
    elif event == "subprocess.Popen" and "dbt" in repr(args[1]):
        seen.append(repr(args[1]))
sys.addaudithook(audit)
import orchestration.definitions
print(seen)
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_the_preview_is_an_asset_of_the_current_month_beside_the_invoice_marts(
    defs: dg.Definitions,
) -> None:
    graph = defs.resolve_asset_graph()
    preview = graph.get(CURRENT_MONTH_PREVIEW)
    assert preview.group_name == "invoicing"
    assert preview.partitions_def is None  # the open month is no closable partition
    assert {key.to_user_string() for key in preview.parent_keys} == {
        "billing/invoice_previews",
        "billing/invoice_preview_lines",
        "billing/unpriced_charges",
        "billing/catalogue_coverage",
    }
    policy = preview.freshness_policy
    assert isinstance(policy, TimeWindowFreshnessPolicy)
    assert policy.fail_window.to_timedelta() == timedelta(hours=2)
    job = defs.resolve_job_def(PREVIEW_JOB_NAME)
    assert job.executor_def is dg.in_process_executor
    # The preview models are built by the asset; the issue step and the close are not in it.
    assert set(job.asset_layer.executable_asset_keys) == {CURRENT_MONTH_PREVIEW}
    assert ISSUED_INVOICES not in job.asset_layer.executable_asset_keys
    schedule = defs.resolve_schedule_def(PREVIEW_SCHEDULE_NAME)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 * * * *", "UTC")
    assert schedule.job_name == PREVIEW_JOB_NAME
    assert schedule.default_status is dg.DefaultScheduleStatus.RUNNING
    sensor = defs.resolve_sensor_def(PREVIEW_SENSOR_NAME)
    assert sensor.job_name == PREVIEW_JOB_NAME
    assert sensor.default_status is dg.DefaultSensorStatus.RUNNING
    assert current_period(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)).label == "2026-11"


def test_the_preview_schedule_and_freshness_come_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BILLING_PREVIEW_CRON", "*/15 6-20 * * 1-5")
    monkeypatch.setenv("BILLING_PREVIEW_MAX_AGE", "1800")
    defs = build_definitions(BillingResource())
    assert defs.resolve_schedule_def(PREVIEW_SCHEDULE_NAME).cron_schedule == "*/15 6-20 * * 1-5"
    policy = defs.resolve_asset_graph().get(CURRENT_MONTH_PREVIEW).freshness_policy
    assert isinstance(policy, TimeWindowFreshnessPolicy)
    assert policy.fail_window.to_timedelta() == timedelta(minutes=30)
    assert (
        build_definitions(BillingResource(preview_cron="0 7 * * *"))
        .resolve_schedule_def(PREVIEW_SCHEDULE_NAME)
        .cron_schedule
        == "0 7 * * *"
    )
