"""The close precondition against a real JetStream stream that holds messages no loader landed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import nats
import psycopg
import pytest

from billing.settings import CHARGE_STREAM, CHARGE_SUBJECT, LOADER_CONSUMER
from billing.streams import ensure_streams
from orchestration.loader_progress import LoaderBehindError, LoaderProgress, wait_for_loader
from tests.support.coverage import subprocess_environment


def publish(nats_url: str, count: int) -> None:
    """`count` messages on the charge subject (content is irrelevant to the precondition)."""

    async def send() -> None:
        client = await nats.connect(nats_url)
        try:
            jetstream = client.jetstream()
            await ensure_streams(jetstream, 120)
            for index in range(count):
                await jetstream.publish(CHARGE_SUBJECT, f'{{"n": {index}}}'.encode())
        finally:
            await client.close()

    asyncio.run(send())


def consume_and_ack_all(nats_url: str, count: int) -> None:
    """What a loader's durable consumer does once it has committed: every message acked."""

    async def consume() -> None:
        client = await nats.connect(nats_url)
        try:
            subscription = await client.jetstream().pull_subscribe(
                CHARGE_SUBJECT, durable=LOADER_CONSUMER, stream=CHARGE_STREAM
            )
            for message in await subscription.fetch(count, timeout=5):
                await message.ack_sync()
        finally:
            await client.close()

    asyncio.run(consume())


def set_checkpoint(database_url: str, sequence: int) -> None:
    """The loader's high-water mark, as it commits it with its rows."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "insert into raw.loader_checkpoints (consumer_name, stream_name, last_stream_sequence)"
            " values (%s, %s, %s) on conflict (consumer_name)"
            " do update set last_stream_sequence = excluded.last_stream_sequence",
            (LOADER_CONSUMER, CHARGE_STREAM, sequence),
        )


def test_without_a_stream_there_is_nothing_to_wait_for(database_url: str, nats_url: str) -> None:
    progress = wait_for_loader(nats_url, database_url, timeout_seconds=0)
    assert progress.caught_up
    assert (progress.target_sequence, progress.stream.stream_exists) == (0, False)


def test_messages_no_loader_landed_refuse_the_close_after_the_wait(
    database_url: str, nats_url: str
) -> None:
    publish(nats_url, 5)

    with pytest.raises(LoaderBehindError) as refused:
        wait_for_loader(nats_url, database_url, timeout_seconds=0.3, poll_seconds=0.1)

    progress = refused.value.progress
    assert (progress.target_sequence, progress.high_water_mark, progress.behind_by) == (5, 0, 5)
    assert not progress.stream.consumer_exists
    assert "the loader is behind" in str(refused.value)
    assert "billing events load --until-idle" in str(refused.value)


def test_the_close_waits_for_what_the_stream_held_at_its_start(
    database_url: str, nats_url: str
) -> None:
    publish(nats_url, 5)
    seen: list[LoaderProgress] = []

    def loader_makes_progress(progress: LoaderProgress) -> None:
        seen.append(progress)
        if len(seen) == 1:
            publish(nats_url, 3)  # arrives after the start: the close does not wait for it
        elif len(seen) == 2:
            set_checkpoint(database_url, 5)  # the loader commits what the stream held

    progress = wait_for_loader(
        nats_url, database_url, timeout_seconds=60, poll_seconds=0.05, on_poll=loader_makes_progress
    )

    assert progress.caught_up
    assert (progress.target_sequence, progress.high_water_mark) == (5, 5)
    assert progress.stream.last_sequence == 8
    assert [p.caught_up for p in seen] == [False, False, True]


def test_a_drained_consumer_counts_as_caught_up(database_url: str, nats_url: str) -> None:
    publish(nats_url, 4)
    consume_and_ack_all(nats_url, 4)

    progress = wait_for_loader(nats_url, database_url, timeout_seconds=0)

    assert progress.caught_up
    assert progress.consumer_drained
    assert (progress.stream.pending, progress.stream.ack_pending) == (0, 0)


def test_billing_close_refuses_with_a_report_when_the_loader_is_behind(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    publish(nats_url, 3)
    done = subprocess.run(
        [str(Path(sys.prefix) / "bin" / "billing"), "close", "--month", "2026-10"],
        env={
            **os.environ,
            **subprocess_environment(),
            "COLUMNS": "200",
            "BILLING_DATABASE_URL": database_url,
            "BILLING_NATS_URL": nats_url,
            "BILLING_STATE_DIR": str(tmp_path),
            "BILLING_CLOSE_WAIT_SECONDS": "0.5",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    report = " ".join(done.stderr.split())
    assert "Loader behind: close refused" in report
    assert "stream last sequence at start │ 3" in report
    assert "the loader is behind" in report
    # Refused before any Dagster run was started, and recorded as a close run all the same.
    assert not (tmp_path / "dagster").exists()
    with psycopg.connect(database_url) as conn:
        recorded = conn.execute(
            "select period, outcome, reasons, trigger, finished_at > started_at,"
            " run_id like 'refused-before-run-%%' from billing.close_runs"
        ).fetchall()
    assert recorded == [("2026-10", "refused", ["loader_behind"], "cli", True, True)]
