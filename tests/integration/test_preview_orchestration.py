"""The current month's preview in Dagster (issue 20): the sensor requests a refresh only once
enough new events have landed, and the preview_refresh job fills the preview in process
against real PostgreSQL and real dbt, under the close lock."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import dagster as dg
import psycopg
import pytest

from billing.locks import Lock, advisory_lock
from orchestration.definitions import build_definitions
from orchestration.defs.preview.assets import CURRENT_MONTH_PREVIEW, current_period
from orchestration.defs.preview.jobs import PREVIEW_JOB_NAME, PREVIEW_SENSOR_NAME
from orchestration.defs.resources import BillingResource
from tests.support.billing_data import Event, add_account, land_events

TENANT = uuid.UUID("e0000000-0000-4000-8000-00000000000e")
THRESHOLD = 3


def land(database_url: str, count: int) -> None:
    """`count` events of TENANT in the current month (its first minutes: never ahead of now)."""
    start = current_period().start_instant
    with psycopg.connect(database_url) as conn:
        land_events(
            conn,
            [Event(TENANT, start + timedelta(seconds=n), "orange_fr") for n in range(count)],
        )


def evaluate(
    defs: dg.Definitions, billing: BillingResource, instance: dg.DagsterInstance, cursor: str | None
) -> dg.SensorResult | dg.SkipReason | Any:
    sensor = defs.resolve_sensor_def(PREVIEW_SENSOR_NAME)
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"billing": billing}
    )
    return sensor(context)


def previews(database_url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "select period, tenant_id, status from billing.invoice_previews"
        ).fetchall()


@pytest.fixture
def billing(database_url: str, tmp_path: Any) -> BillingResource:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT, tier="starter")
    return BillingResource(
        database_url=database_url,
        state_dir=str(tmp_path / "state"),
        preview_event_threshold=THRESHOLD,
    )


def test_the_sensor_requests_a_refresh_past_the_threshold_and_the_job_fills_the_preview(
    database_url: str, billing: BillingResource
) -> None:
    defs = build_definitions(billing)
    with dg.instance_for_test() as instance:
        sense_build_and_sense_again(database_url, billing, defs, instance)


def sense_build_and_sense_again(
    database_url: str, billing: BillingResource, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    land(database_url, THRESHOLD - 1)
    skipped = evaluate(defs, billing, instance, None)
    assert isinstance(skipped, dg.SkipReason)
    assert f"{THRESHOLD - 1} event(s) landed" in str(skipped.skip_message)
    land(database_url, 1)
    requested = evaluate(defs, billing, instance, None)
    assert isinstance(requested, dg.SensorResult)
    assert len(requested.run_requests or []) == 1
    assert requested.cursor == str(THRESHOLD)  # the newest stream sequence it counted
    # Nothing new since that request: no second run for the same events.
    assert isinstance(evaluate(defs, billing, instance, requested.cursor), dg.SkipReason)

    result = defs.resolve_job_def(PREVIEW_JOB_NAME).execute_in_process(instance=instance)
    assert result.success
    period = current_period().label
    assert previews(database_url) == [(period, TENANT, "draft")]
    [materialization] = result.asset_materializations_for_node("billing__current_month_preview")
    assert materialization.asset_key == CURRENT_MONTH_PREVIEW
    assert materialization.metadata["drafts"] == dg.MetadataValue.int(1)
    assert materialization.metadata["last_stream_sequence"] == dg.MetadataValue.int(THRESHOLD)
    # The build is the mark now, whatever the cursor says: new events count from it.
    land(database_url, THRESHOLD - 1)
    assert isinstance(evaluate(defs, billing, instance, None), dg.SkipReason)
    land(database_url, 1)
    assert isinstance(evaluate(defs, billing, instance, None), dg.SensorResult)


def test_the_job_refuses_while_a_close_holds_the_lock(
    database_url: str, billing: BillingResource
) -> None:
    land(database_url, 1)
    defs = build_definitions(billing)
    with psycopg.connect(database_url, autocommit=True) as conn, advisory_lock(conn, Lock.CLOSE):
        result = defs.resolve_job_def(PREVIEW_JOB_NAME).execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert "a close is running" in str(failure.step_failure_data.error)
    with psycopg.connect(database_url) as conn:
        relation = conn.execute("select to_regclass('billing.invoice_previews')").fetchone()
    if relation and relation[0]:
        assert previews(database_url) == []  # nothing was built
