"""Helpers of the ingestion tests: publish, run a loader in process, look at what landed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

import nats
import orjson
import psycopg
from nats.js.api import ConsumerInfo, StreamInfo

from billing.settings import CHARGE_STREAM, LOADER_CONSUMER
from loader.service import AfterCommit, Loader, LoaderConfig, LoaderSummary
from producers.publish import ChargePublishReport, publish_payloads

TENANT = "0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33"


def loader_config(database_url: str, nats_url: str, **overrides: Any) -> LoaderConfig:
    """A loader for tests: until idle, short quiet period, small batches."""
    options: dict[str, Any] = {
        "until_idle": True,
        "idle_seconds": 0.3,
        "linger_seconds": 0.02,
        "batch_size": 1_000,
        "max_ack_pending": 5_000,
        "lag_refresh_seconds": 0.2,
    }
    options.update(overrides)
    return LoaderConfig(database_url=database_url, nats_url=nats_url, **options)


def run_loader(config: LoaderConfig, after_commit: AfterCommit | None = None) -> LoaderSummary:
    """Run a loader to completion in this process."""
    return asyncio.run(Loader(config, after_commit=after_commit).run())


def publish(nats_url: str, payloads: Iterable[bytes], **options: Any) -> ChargePublishReport:
    """Publish payloads to the charge subject; the report of the server's acks."""
    return asyncio.run(publish_payloads(nats_url, list(payloads), **options))


def event(**fields: Any) -> dict[str, Any]:
    """A valid charge event with a fresh event_id; `fields` override or add fields."""
    base: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "billing.message.charged.v1",
        "occurred_at": "2026-10-14T09:30:12.123Z",
        "tenant_id": TENANT,
        "message_id": f"msg-{uuid.uuid4().hex[:12]}",
        "operator_id": "orange_fr",
        "direction": "outbound",
        "segments": 2,
    }
    base.update(fields)
    return base


def payload(**fields: Any) -> bytes:
    """A valid charge event as JSON bytes."""
    return orjson.dumps(event(**fields))


def scalar(database_url: str, query: str, *params: Any) -> Any:
    """The single value a query returns (as the owner)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def rows(database_url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """All rows a query returns (as the owner)."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()


def consumer_info(nats_url: str, consumer: str = LOADER_CONSUMER) -> ConsumerInfo:
    """The loader consumer as the server sees it."""

    async def fetch() -> ConsumerInfo:
        client = await nats.connect(nats_url)
        try:
            info: ConsumerInfo = await client.jetstream().consumer_info(CHARGE_STREAM, consumer)
            return info
        finally:
            await client.close()

    return asyncio.run(fetch())


def stream_info(nats_url: str, stream: str = CHARGE_STREAM) -> StreamInfo:
    """A stream as the server sees it."""

    async def fetch() -> StreamInfo:
        client = await nats.connect(nats_url)
        try:
            info: StreamInfo = await client.jetstream().stream_info(stream)
            return info
        finally:
            await client.close()

    return asyncio.run(fetch())
