"""The exporter against a real PostgreSQL: its values, its read-only bounded session (it gives
way to the close's locks instead of waiting), reconnection, and `billing exporter`'s failures."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from prometheus_client import generate_latest

from billing.localservices import free_port
from billing.settings import load_settings
from exporter.service import Exporter, ExporterConfig
from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.cli import billing, one_line
from tests.support.forge import forged_history


@pytest.fixture
def exporter(database_url: str) -> Exporter:
    return Exporter(ExporterConfig(database_url=database_url, lock_timeout_seconds=0.2))


def refresh(exporter: Exporter) -> bool:
    async def once() -> bool:
        try:
            return await exporter.refresh()
        finally:
            # Each asyncio.run has its own loop: the connection is opened again next time.
            if exporter._conn is not None:
                await exporter._conn.close()
                exporter._conn = None

    return asyncio.run(once())


def value(exporter: Exporter, name: str, **labels: str) -> float | None:
    return exporter.registry.get_sample_value(name, labels)


def test_a_fresh_database_exports_zeros_and_no_close(exporter: Exporter) -> None:
    assert refresh(exporter)

    assert value(exporter, "billing_unpriced_events") == 0  # models not built yet
    assert value(exporter, "billing_negative_margin_charges") == 0
    assert value(exporter, "billing_invoices_issued_total") == 0
    assert value(exporter, "billing_outbox_backlog") == 0
    assert value(exporter, "billing_excluded_events") == 0
    assert value(exporter, "billing_close_last_run_status", status="succeeded") is None
    assert value(exporter, "billing_close_last_closed_period_end_timestamp_seconds") is None
    assert value(exporter, "billing_exporter_last_refresh_timestamp_seconds") is not None
    assert exporter.readiness() == {"postgres": True, "refreshed": True}


def test_the_close_families_follow_billing_close_runs(
    exporter: Exporter, database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        # The month closed is the issue step's record, however the close was launched (a
        # run of Dagster's schedule or UI writes no close_runs row). Forged: only an issue
        # transaction may write it.
        with forged_history(conn):
            conn.execute(
                "insert into billing.period_closes (period, kind, closed_at, invoice_count,"
                " event_count) values ('2026-09', 'close', %s, 0, 0)",
                (datetime(2026, 10, 1, 3, 2, tzinfo=UTC),),
            )
        conn.execute(
            "insert into billing.close_runs (run_id, period, outcome, reasons, trigger,"
            " started_at, finished_at) values"
            " ('a', '2026-09', 'succeeded', '{}', 'cli', %s, %s),"
            " ('b', '2026-10', 'refused', '{blockers}', 'cli', %s, %s)",
            (
                datetime(2026, 10, 1, 3, 0, tzinfo=UTC),
                datetime(2026, 10, 1, 3, 2, tzinfo=UTC),
                datetime(2026, 11, 1, 3, 0, tzinfo=UTC),
                datetime(2026, 11, 1, 3, 0, 45, tzinfo=UTC),
            ),
        )

    assert refresh(exporter)

    assert value(exporter, "billing_close_last_run_status", status="refused") == 1
    assert value(exporter, "billing_close_last_run_status", status="succeeded") == 0
    assert value(exporter, "billing_close_last_run_status", status="failed") == 0
    assert value(exporter, "billing_close_last_run_duration_seconds") == 45
    assert value(exporter, "billing_close_last_run_timestamp_seconds") == (
        datetime(2026, 11, 1, 3, 0, 45, tzinfo=UTC).timestamp()
    )
    # September is the latest month closed: its end is October 1st.
    assert value(exporter, "billing_close_last_closed_period_end_timestamp_seconds") == (
        datetime(2026, 10, 1, tzinfo=UTC).timestamp()
    )
    text = generate_latest(exporter.registry).decode()
    assert 'billing_close_last_run_status{status="refused"} 1.0' in text


def test_a_query_gives_way_to_a_lock_and_keeps_its_last_value(
    exporter: Exporter, database_url: str
) -> None:
    assert refresh(exporter)
    with psycopg.connect(database_url) as holder:
        holder.execute("lock table billing.issued_invoices in access exclusive mode")
        began = time.monotonic()

        complete = refresh(exporter)

        took = time.monotonic() - began
    assert not complete
    assert took < 3, took  # lock_timeout 0.2 s: it never queues behind the close
    assert value(exporter, "billing_exporter_query_errors_total", query="invoices_issued") == 1
    assert value(exporter, "billing_exporter_query_errors_total", query="unpriced_events") == 0
    assert value(exporter, "billing_invoices_issued_total") == 0  # the last value, kept
    # A lock is no lost database: the queries after it ran, and the exporter stays ready.
    assert value(exporter, "billing_exporter_query_errors_total", query="outbox_backlog") == 0
    assert exporter.readiness()["postgres"]


def test_the_session_is_read_only(exporter: Exporter) -> None:
    async def write() -> None:
        conn = await exporter._connect()
        try:
            await conn.execute("create table billing.nope (x int)")
        finally:
            await conn.close()

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        asyncio.run(write())


def test_a_lost_connection_is_reopened_at_the_next_refresh(
    exporter: Exporter, database_url: str
) -> None:
    async def scenario() -> tuple[bool, dict[str, bool], bool]:
        assert await exporter.refresh()
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where application_name = 'billing-exporter'"
            )
        lost = await exporter.refresh()
        readiness = exporter.readiness()
        again = await exporter.refresh()
        if exporter._conn is not None:
            await exporter._conn.close()
            exporter._conn = None
        return lost, readiness, again

    lost, readiness, again = asyncio.run(scenario())
    assert not lost
    assert readiness == {"postgres": False, "refreshed": True}
    assert again
    assert exporter.readiness()["postgres"]


def test_the_configuration_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_AUDITOR_DATABASE_URL", "postgresql://auditor@db/billing")
    monkeypatch.setenv("BILLING_EXPORTER_REFRESH_SECONDS", "12.5")

    config = ExporterConfig.from_settings(load_settings(), http_port=0)

    assert (config.database_url, config.database_role) == ("postgresql://auditor@db/billing", None)
    assert config.refresh_seconds == 12.5
    assert (config.statement_timeout_seconds, config.lock_timeout_seconds) == (5.0, 1.0)


def test_billing_exporter_reports_an_unreachable_database_in_one_line(tmp_path: Path) -> None:
    nowhere = f"postgresql://billing@127.0.0.1:{free_port()}/billing"

    done = billing(
        "exporter",
        "--metrics-port",
        "0",
        BILLING_DATABASE_URL=nowhere,
        BILLING_STATE_DIR=str(tmp_path),
        timeout=60,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    line = one_line(done.stderr)
    assert "cannot connect to PostgreSQL" in line
    assert "BILLING_AUDITOR_DATABASE_URL" in line


def test_billing_exporter_refuses_a_bad_refresh_interval(tmp_path: Path) -> None:
    done = billing(
        "exporter", "--refresh-seconds", "0", BILLING_STATE_DIR=str(tmp_path), timeout=60
    )

    assert done.returncode == 2, done.stdout + done.stderr
    assert "--refresh-seconds" in one_line(done.stderr)


def test_excluded_events_count_the_standing_exclusions(
    exporter: Exporter, database_url: str
) -> None:
    tenant = uuid.UUID("a0000000-0000-4000-8000-00000000000a")
    events = [Event(tenant, at("2026-10-03")) for _ in range(3)]
    with psycopg.connect(database_url) as conn:
        add_account(conn, tenant)
        land_events(conn, events)
        for event in events:  # three excluded, then one of them re-included
            conn.execute(
                "insert into billing.event_exclusions (event_id, reason) values (%s, 'bogus')",
                (event.event_id,),
            )
        conn.execute(
            "insert into billing.event_exclusions (event_id, action, reason)"
            " values (%s, 'include', 'real')",
            (events[0].event_id,),
        )

    assert refresh(exporter)

    assert value(exporter, "billing_excluded_events") == 2
