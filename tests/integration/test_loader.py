"""The loader against real NATS JetStream and PostgreSQL: exactly once, nothing dropped."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from billing.localservices import Endpoints
from billing.settings import Settings
from loader.metrics import LoaderMetrics
from loader.service import Loader, LoaderConfig
from producers.sample import parse_month, sample_events
from tests.support.coverage import subprocess_environment
from tests.support.ingest import (
    consumer_info,
    loader_config,
    payload,
    publish,
    rows,
    run_loader,
    scalar,
    stream_info,
)

ROOT = Path(__file__).resolve().parents[2]
RUN_CLI = "from billing_cli import main; main()"


def test_published_events_land_once_with_every_field_intact(
    database_url: str, nats_url: str
) -> None:
    events = list(sample_events(parse_month("2026-10"), 3_000, 20, duplicate_rate=0))
    report = publish(nats_url, events)
    assert (report.stored, report.duplicates, report.failed) == (3_000, 0, 0)
    summary = run_loader(loader_config(database_url, nats_url, batch_size=500))
    assert (summary.loaded, summary.rejected, summary.high_water) == (3_000, 0, 3_000)
    assert summary.batches >= 6
    landed = rows(
        database_url,
        "select stream_sequence, subject, event_id::text, event_type, occurred_at, "
        "tenant_id::text, message_id, operator_id, direction, segments, country, attributes, "
        "payload from raw.message_charged order by stream_sequence",
    )
    assert len(landed) == 3_000
    for sequence, data in enumerate(events, start=1):
        source = orjson.loads(data)
        row = landed[sequence - 1]
        assert row[:4] == (
            sequence,
            "billing.message.charged.v1",
            source["event_id"],
            source["event_type"],
        )
        assert row[4] == datetime.fromisoformat(source["occurred_at"]).astimezone(UTC)
        assert row[5:11] == (
            source["tenant_id"],
            source["message_id"],
            source["operator_id"],
            source["direction"],
            source["segments"],
            source.get("country"),
        )
        assert row[11] == source.get("attributes")
        assert row[12] == source
    assert (
        scalar(
            database_url,
            "select last_stream_sequence from raw.loader_checkpoints where consumer_name = %s",
            "billing-loader",
        )
        == 3_000
    )
    assert consumer_info(nats_url).ack_floor.stream_seq == 3_000


def test_duplicates_with_msg_id_inside_the_window_are_dropped_by_the_server(
    database_url: str, nats_url: str
) -> None:
    data = payload()
    report = publish(nats_url, [data, data])
    assert (report.stored, report.duplicates) == (1, 1)
    assert stream_info(nats_url).state.messages == 1
    assert run_loader(loader_config(database_url, nats_url)).loaded == 1


def test_duplicates_without_msg_id_land_twice_for_staging_to_deduplicate(
    database_url: str, nats_url: str
) -> None:
    data = payload()
    report = publish(nats_url, [data, data], with_msg_id=False)
    assert (report.stored, report.duplicates) == (2, 0)
    run_loader(loader_config(database_url, nats_url))
    assert rows(
        database_url, "select count(*), count(distinct event_id) from raw.message_charged"
    ) == [(2, 1)]


CRASH_AFTER_COMMIT = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from loader.service import Loader, LoaderConfig

    config = LoaderConfig(
        database_url=sys.argv[1], nats_url=sys.argv[2], batch_size=1000, linger_seconds=0.5,
        max_ack_pending=5000, ack_wait_seconds=1.0,
    )
    # Killed between the commit and the acknowledgement.
    loader = Loader(config, after_commit=lambda high_water: os.kill(os.getpid(), signal.SIGKILL))
    asyncio.run(loader.run())
    """
)


def test_a_loader_killed_after_commit_before_ack_adds_no_row_on_redelivery(
    database_url: str, nats_url: str
) -> None:
    publish(nats_url, [payload() for _ in range(200)])
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_COMMIT, database_url, nats_url],
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL
    assert scalar(database_url, "select count(*) from raw.message_charged") == 200
    info = consumer_info(nats_url)
    assert info.ack_floor.stream_seq == 0  # committed, never acknowledged
    assert info.num_ack_pending == 200
    # Same consumer settings: it is resumed and the server redelivers all 200 after ack_wait.
    summary = run_loader(
        loader_config(
            database_url,
            nats_url,
            ack_wait_seconds=1.0,
            batch_size=1000,
            idle_seconds=1.5,
            max_ack_pending=5000,
        )
    )
    assert summary.outcome[0].startswith("resumed")
    assert (summary.duplicates, summary.loaded) == (200, 0)
    assert scalar(database_url, "select count(*) from raw.message_charged") == 200
    assert consumer_info(nats_url).num_ack_pending == 0


def test_poison_messages_are_rejected_and_the_loader_keeps_going(
    database_url: str, nats_url: str
) -> None:
    poison = [
        b"this is not json {",
        orjson.dumps(orjson.loads(payload()) | {"segments": "2"}),
        payload(direction=None),
        orjson.dumps({"event_id": "1c9e2d3f-4a5b-4c6d-8e7f-901a2b3c4d5e"}),
        os.urandom(1_000_000),
        payload(event_type="billing.message.delivered.v1"),
        payload(message_id="nul\u0000inside"),
        # Valid by the contract; PostgreSQL's numeric cannot hold it: isolated at COPY time.
        payload()[:-1] + b',"extra":1e-20000}',
    ]
    valid = [payload() for _ in range(50)]
    published = [*valid[:20], *poison, *valid[20:]]
    assert publish(nats_url, published).stored == len(published)
    summary = run_loader(loader_config(database_url, nats_url, batch_size=2000))
    assert (summary.loaded, summary.rejected) == (50, len(poison))
    assert scalar(database_url, "select count(*) from raw.message_charged") == 50
    rejected = rows(
        database_url,
        "select stream_sequence, subject, payload, reason from raw.rejected_messages "
        "order by stream_sequence",
    )
    assert [sequence for sequence, *_ in rejected] == list(range(21, 21 + len(poison)))
    assert [bytes(data) for _, _, data, _ in rejected] == poison
    reasons = [reason for *_, reason in rejected]
    for reason, fragment in zip(
        reasons,
        [
            "not valid JSON",
            "segments",
            "direction",
            "must contain",
            "not valid JSON",
            "event_type",
            "U+0000",
            "PostgreSQL refused it",
        ],
        strict=True,
    ):
        assert fragment in reason
    # Published = landed + rejected, and a second run finds nothing left.
    again = run_loader(loader_config(database_url, nats_url))
    assert (again.loaded, again.rejected) == (0, 0)


def test_the_loader_rebinds_after_a_delivery_gap_and_loses_nothing(
    database_url: str, nats_url: str
) -> None:
    # A client queue of 100 deliveries overflows under a burst of 1,000: nats-py drops some.
    publish(nats_url, [payload() for _ in range(1_500)])
    summary = run_loader(
        loader_config(
            database_url,
            nats_url,
            direct_delivery=False,  # through nats-py's bounded queue, which overflows
            pending_msgs_limit=100,
            max_ack_pending=1_000,
        )
    )
    assert summary.rebinds >= 1
    assert summary.loaded == 1_500
    assert rows(
        database_url, "select count(*), count(distinct stream_sequence) from raw.message_charged"
    ) == [(1_500, 1_500)]


def test_sigterm_finishes_the_batch_in_hand_and_exits_zero(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    events = list(sample_events(parse_month("2026-10"), 30_000, 20, duplicate_rate=0))
    publish(nats_url, events)
    env = (
        os.environ
        | subprocess_environment()
        | {
            "BILLING_DATABASE_URL": database_url,
            "BILLING_NATS_URL": nats_url,
            "BILLING_STATE_DIR": str(tmp_path),
        }
    )
    loader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUN_CLI,
            "events",
            "load",
            "--metrics-port",
            "0",
            "--batch-size",
            "500",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while _checkpoint(database_url) < 1_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        loader.send_signal(signal.SIGTERM)
        output, _ = loader.communicate(timeout=30)
    finally:
        loader.kill()
    assert loader.returncode == 0, output.decode()
    committed = _checkpoint(database_url)
    assert 1_000 <= committed < 30_000  # stopped mid-stream, after the batches in hand
    assert scalar(database_url, "select count(*) from raw.message_charged") == committed
    assert consumer_info(nats_url).ack_floor.stream_seq == committed  # acked what it committed
    rest = run_loader(loader_config(database_url, nats_url))
    assert scalar(database_url, "select count(*) from raw.message_charged") == 30_000
    assert rest.loaded == 30_000 - committed


def _checkpoint(database_url: str) -> int:
    found = rows(database_url, "select last_stream_sequence from raw.loader_checkpoints")
    return int(found[0][0]) if found else 0


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_metrics_and_health_endpoints_answer(database_url: str, nats_url: str) -> None:
    publish(nats_url, [payload() for _ in range(30)] + [b"not json"])

    async def scenario() -> tuple[dict[str, tuple[int, str]], int]:
        loader = Loader(
            loader_config(database_url, nats_url, until_idle=False, http_port=0),
            metrics=LoaderMetrics(),
        )
        running = asyncio.create_task(loader.run())
        await asyncio.wait_for(loader.started.wait(), 10)
        while loader.summary.loaded < 30:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # one lag refresh
        base = f"http://127.0.0.1:{loader.http_port}"
        answers = {
            path: await asyncio.to_thread(_get, base + path)
            for path in ("/health/live", "/health/ready", "/metrics", "/nowhere")
        }
        loader.stop()
        summary = await asyncio.wait_for(running, 10)
        return answers, summary.loaded

    answers, loaded = asyncio.run(scenario())
    assert loaded == 30
    assert answers["/health/live"][0] == 200
    status, body = answers["/health/ready"]
    assert status == 200
    assert json.loads(body) == {
        "ready": True,
        "nats": True,
        "postgres": True,
        "consumer_bound": True,
    }
    status, metrics = answers["/metrics"]
    assert status == 200
    assert "billing_events_loaded_total 30.0" in metrics
    assert "billing_events_rejected_total 1.0" in metrics
    assert "billing_events_received_total 31.0" in metrics
    assert "billing_events_duplicate_total 0.0" in metrics
    assert "billing_loader_batch_size_count" in metrics
    assert "billing_loader_commit_seconds_bucket" in metrics
    assert "billing_consumer_lag 0.0" in metrics
    assert "billing_loader_last_commit_timestamp_seconds" in metrics
    assert answers["/nowhere"][0] == 404


def test_a_second_loader_of_the_same_consumer_is_refused(database_url: str, nats_url: str) -> None:
    from loader.errors import LoaderRefusedError

    async def scenario() -> None:
        first = Loader(loader_config(database_url, nats_url, until_idle=False))
        running = asyncio.create_task(first.run())
        await asyncio.wait_for(first.started.wait(), 10)
        try:
            with pytest.raises(LoaderRefusedError, match="another loader"):
                await Loader(loader_config(database_url, nats_url)).run()
        finally:
            first.stop()
            await running

    asyncio.run(scenario())


def test_events_outside_the_time_bounds_are_rejected_with_their_reason(
    database_url: str, nats_url: str
) -> None:
    """Issue 18: a contract-valid 2099 (or 1970) event landed, then blocked every close."""
    now = datetime.now(UTC)
    good = payload(occurred_at=(now - timedelta(days=30)).isoformat())
    future = payload(occurred_at="2099-01-01T00:00:00Z")
    ancient = payload(occurred_at="1970-01-01T00:00:00Z")
    publish(nats_url, [good, future, ancient])
    summary = run_loader(loader_config(database_url, nats_url))
    assert (summary.loaded, summary.rejected) == (1, 2)
    assert rows(database_url, "select stream_sequence from raw.message_charged") == [(1,)]
    reasons = dict(rows(database_url, "select stream_sequence, reason from raw.rejected_messages"))
    assert "BILLING_MAX_FUTURE_SKEW" in reasons[2]
    assert "2099-01-01T00:00:00Z" in reasons[2]
    assert "BILLING_MAX_EVENT_AGE" in reasons[3]
    stored = scalar(
        database_url, "select payload from raw.rejected_messages where stream_sequence = 2"
    )
    assert bytes(stored) == future  # kept as published, for a replay after a fix


def test_the_time_bounds_come_from_the_settings(database_url: str, nats_url: str) -> None:
    settings = Settings(max_future_skew=timedelta(0), max_event_age=timedelta(days=2))
    config = LoaderConfig.from_settings(
        settings,
        Endpoints(database_url=database_url, nats_url=nats_url),
        until_idle=True,
        idle_seconds=0.3,
    )
    now = datetime.now(UTC)
    publish(
        nats_url,
        [
            payload(occurred_at=(now - timedelta(days=1)).isoformat()),
            payload(occurred_at=(now - timedelta(days=3)).isoformat()),
            payload(occurred_at=(now + timedelta(minutes=1)).isoformat()),
        ],
    )
    summary = run_loader(config)
    assert (summary.loaded, summary.rejected) == (1, 2)
