"""The close's record of each run in billing.close_runs (orchestration/closing.py): every
outcome, and a database that cannot take the row never hides the close's own outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from billing.localservices import free_port
from orchestration.closing import CloseOutcome, record_close_run
from orchestration.defs.resources import BillingResource
from orchestration.refusals import Refusal
from tests.conftest import LoginFactory

STARTED = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
UNUSED_NATS = "nats://127.0.0.1:1"  # recording a run needs only PostgreSQL


def test_failed_and_refused_runs_are_recorded_with_their_reasons(database_url: str) -> None:
    billing = BillingResource(database_url=database_url, nats_url=UNUSED_NATS)
    failed = CloseOutcome(period="2026-10", run_id="r1", success=False, errors=["dbt: boom"])
    refused = CloseOutcome(period="2026-10", run_id="r2", success=False)
    refused.refuse(Refusal.BLOCKERS)

    assert record_close_run(billing, failed, STARTED, STARTED + timedelta(seconds=5), "cli")
    assert record_close_run(billing, refused, STARTED, STARTED + timedelta(seconds=9), "cron")
    # The same run twice is one row.
    assert record_close_run(billing, refused, STARTED, STARTED + timedelta(seconds=9), "cron")

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "select run_id, outcome, reasons, trigger, recorded_by from billing.close_runs"
            " order by run_id"
        ).fetchall()
    assert rows == [
        ("r1", "failed", ["dbt: boom"], "cli", "postgres"),
        ("r2", "refused", ["blockers"], "cron", "postgres"),
    ]


def test_a_tenant_sees_no_close_run(database_url: str, login: LoginFactory) -> None:
    billing = BillingResource(database_url=database_url, nats_url=UNUSED_NATS)
    done = CloseOutcome(period="2026-10", run_id="r1", success=True)
    assert record_close_run(billing, done, STARTED, STARTED, "cli")
    tenant = login("billing_tenant")
    auditor = login("billing_auditor")

    with psycopg.connect(tenant) as conn:
        assert conn.execute("select count(*) from billing.close_runs").fetchone() == (0,)
    with psycopg.connect(auditor) as conn:
        assert conn.execute("select count(*) from billing.close_runs").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "insert into billing.close_runs (run_id, period, outcome, trigger, started_at,"
                " finished_at) values ('x', '2026-10', 'succeeded', 'cli', now(), now())"
            )


def test_an_unreachable_database_is_logged_not_raised() -> None:
    nowhere = BillingResource(
        database_url=f"postgresql://billing@127.0.0.1:{free_port()}/x", nats_url=UNUSED_NATS
    )
    outcome = CloseOutcome(period="2026-10", run_id="r1", success=True)

    assert not record_close_run(nowhere, outcome, STARTED, STARTED, "cli")
