"""The loader rides out outages (issue 18, sections 2 and 5): PostgreSQL or NATS stopped for
10 s in the middle of a load, servers of the test's own on loopback, the loader as a process.

It stays up, says not-ready while a server is down (checked at probe time), reconnects with
backoff, and ends with every stream sequence landed exactly once. With --until-idle it gives up
with a message once NATS has been unreachable for --outage-wait seconds.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest
from psycopg import sql

from billing import db
from producers.publish import publish_payloads
from tests.support.fault import (
    LoaderProcess,
    OwnPostgres,
    checkpoint,
    fault_scale,
    ledger_reconciles,
    loader_process,
    own_nats,
    own_postgres,
    reconcile,
    scaled,
    stream_last_sequence,
    valid_events,
    wait_until,
)
from tests.support.ingest import publish

pytestmark = pytest.mark.timeout(180 * fault_scale())

OUTAGE_SECONDS = 10.0


@pytest.fixture(scope="module")
def postgres() -> Iterator[OwnPostgres]:
    """A PostgreSQL cluster of this module's own: its tests stop and start it."""
    with own_postgres() as server:
        yield server


@pytest.fixture
def own_database(postgres: OwnPostgres) -> Iterator[str]:
    """A fresh, migrated database in that cluster."""
    if not postgres.running():
        postgres.start()
    name = f"fault_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = db.with_database(postgres.server_url, name)
    db.migrate(url)
    yield url
    if not postgres.running():
        postgres.start()
    with psycopg.connect(postgres.server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def event_ids(payloads: list[bytes]) -> set[str]:
    return {orjson.loads(data)["event_id"] for data in payloads}


class Publisher(threading.Thread):
    """Publishes `payloads` in chunks, a pause between chunks: a producer during the test."""

    def __init__(self, nats_url: str, payloads: list[bytes], chunks: int, pause: float) -> None:
        super().__init__(daemon=True)
        self.nats_url, self.payloads, self.chunks, self.pause = nats_url, payloads, chunks, pause
        self.stored = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            size = -(-len(self.payloads) // self.chunks)
            for start in range(0, len(self.payloads), size):
                chunk = self.payloads[start : start + size]
                report = asyncio.run(publish_payloads(self.nats_url, chunk))
                self.stored += report.stored
                time.sleep(self.pause)
        except BaseException as error:  # reported by the test
            self.error = error

    def finish(self, timeout: float) -> None:
        self.join(timeout)
        assert not self.is_alive(), "the publisher did not finish"
        assert self.error is None, self.error


def not_ready_because(loader: LoaderProcess, dependency: str) -> bool:
    status, body = loader.ready()
    return status == 503 and body.get(dependency) is False


def sit_out(loader: LoaderProcess, since: float, seconds: float) -> None:
    """Wait until `seconds` after `since`, failing as soon as the loader exits."""
    while time.monotonic() - since < seconds:
        assert loader.alive(), f"the loader died during the outage: {loader.output()}"
        time.sleep(0.2)


def test_ready_turns_false_within_a_probe_when_postgres_stops_while_idle(
    postgres: OwnPostgres, own_database: str, nats_url: str, tmp_path: Path
) -> None:
    """Issue 18: /health/ready said postgres: true for seconds after PostgreSQL stopped."""
    with loader_process(own_database, nats_url, tmp_path) as loader:
        loader.start()
        loader.wait_ready()
        postgres.stop()
        stopped = time.monotonic()
        wait_until("ready: postgres false", lambda: not_ready_because(loader, "postgres"), 5)
        noticed = time.monotonic() - stopped
        assert noticed < 2.0, f"readiness noticed the outage after {noticed:.1f} s"
        sit_out(loader, stopped, 3)
        postgres.start()
        wait_until("ready again", lambda: loader.ready()[0] == 200, 20, every=0.1)
        assert loader.stop() == 0, loader.output()


def test_postgres_stopped_for_10_s_mid_load_loses_and_doubles_nothing(
    postgres: OwnPostgres, own_database: str, nats_url: str, tmp_path: Path, dbt_target_path: Path
) -> None:
    """Scenario 2. Issue 18: an outage longer than about a second killed the loader."""
    count = scaled(20_000)
    events = valid_events(count, seed=21)
    publisher = Publisher(nats_url, events, chunks=40, pause=0.1)
    with loader_process(own_database, nats_url, tmp_path, "--batch-size", "1000") as loader:
        loader.start()
        loader.wait_ready()
        publisher.start()
        wait_until("a quarter landed", lambda: checkpoint(own_database) >= count // 4, 60)
        postgres.stop()
        stopped = time.monotonic()
        wait_until("ready: postgres false", lambda: not_ready_because(loader, "postgres"), 5)
        sit_out(loader, stopped, OUTAGE_SECONDS)
        postgres.start()
        publisher.finish(60)
        wait_until(
            "every event landed",
            lambda: checkpoint(own_database) == stream_last_sequence(nats_url),
            60,
            every=0.2,
        )
        wait_until("ready again", lambda: loader.ready()[0] == 200, 20, every=0.1)
        assert loader.stop() == 0, loader.output()
    assert publisher.stored == count
    reconcile(
        "PostgreSQL stopped 10 s mid-load",
        own_database,
        nats_url,
        faults=1,
        expected_event_ids=event_ids(events),
    )
    ledger_reconciles(own_database, dbt_target_path, seed=True)


def test_nats_stopped_for_10_s_mid_load_loses_and_doubles_nothing(
    database_url: str, tmp_path: Path, dbt_target_path: Path
) -> None:
    """Scenario 3, file storage. The loader holds deliveries it has not committed when NATS
    stops (its COPY is held by a lock), commits them during the outage, reconnects, and
    lands what comes after."""
    count = scaled(20_000)
    events = valid_events(count, seed=31)
    half = count // 2
    with (
        own_nats() as server,
        loader_process(database_url, server.url, tmp_path, "--batch-size", "1000") as loader,
    ):
        loader.start()
        loader.wait_ready()
        with psycopg.connect(database_url) as blocker:
            blocker.execute("lock table raw.message_charged in share mode")
            assert publish(server.url, events[:half]).stored == half
            time.sleep(0.5)  # deliveries reach the loader, its first COPY waits on the lock
            server.stop()
            stopped = time.monotonic()
            wait_until("ready: nats false", lambda: not_ready_because(loader, "nats"), 5)
        # The lock is released: the batch in hand commits while NATS is down.
        wait_until("a batch committed during the outage", lambda: checkpoint(database_url) > 0, 10)
        sit_out(loader, stopped, OUTAGE_SECONDS)
        server.start()
        wait_until("ready again", lambda: loader.ready()[0] == 200, 30, every=0.1)
        assert publish(server.url, events[half:]).stored == count - half
        wait_until(
            "every event landed",
            lambda: checkpoint(database_url) == stream_last_sequence(server.url) == count,
            60,
            every=0.2,
        )
        assert loader.stop() == 0, loader.output()
        reconcile(
            "NATS stopped 10 s mid-load (file storage)",
            database_url,
            server.url,
            faults=1,
            expected_event_ids=event_ids(events),
        )
        ledger_reconciles(database_url, dbt_target_path)


def test_until_idle_gives_up_with_a_message_when_nats_stays_unreachable(
    database_url: str, tmp_path: Path
) -> None:
    """Issue 18: `billing events load --until-idle` must not wait forever for NATS."""
    with (
        own_nats() as server,
        loader_process(
            database_url,
            server.url,
            tmp_path,
            "--until-idle",
            "--idle-seconds",
            "60",
            "--outage-wait",
            "2",
        ) as loader,
    ):
        loader.start()
        loader.wait_ready()
        server.stop()
        stopped = time.monotonic()
        code = loader.wait(timeout=30)
        waited = time.monotonic() - stopped
    output = loader.output()
    assert code == 1, output
    assert "Traceback" not in output
    assert f"NATS at {server.url} has been unreachable for more than 2 s" in output
    assert 2 <= waited < 10, f"gave up after {waited:.1f} s"
