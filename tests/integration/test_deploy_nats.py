"""deploy/nats/ holds the streams and consumer the service creates, setting for setting.

The real loader (`billing events load`) creates them on the embedded nats-server; the server's
configuration (read back with nats-py, in the API's own JSON, as the `nats` CLI writes it) is
compared with the files. Then they are created from the files, as an operator would, and the
loader must find them as it wants them: streams unchanged, consumer resumed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nats

from billing.settings import CHARGE_STREAM, INVOICE_STREAM, LOADER_CONSUMER
from tests.support.cli import billing

DEFINITIONS = Path(__file__).resolve().parents[2] / "deploy" / "nats"
STREAM_FILES = {
    name: DEFINITIONS / f"stream-{name}.json" for name in (CHARGE_STREAM, INVOICE_STREAM)
}
CONSUMER_FILE = DEFINITIONS / f"consumer-{CHARGE_STREAM}-{LOADER_CONSUMER}.json"
# Set for a three-node production cluster; the embedded test server has one node.
PRODUCTION_ONLY = {"num_replicas": 3}


def _file(path: Path) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(path.read_text())
    return definition


async def _api(nats_url: str, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    client = await nats.connect(nats_url)
    try:
        payload = json.dumps(body).encode() if body is not None else b""
        reply = await client.request(subject, payload, timeout=5)
    finally:
        await client.close()
    answer: dict[str, Any] = json.loads(reply.data)
    assert "error" not in answer, answer
    return answer


def _configs(nats_url: str) -> dict[str, dict[str, Any]]:
    async def read() -> dict[str, dict[str, Any]]:
        found = {}
        for name in STREAM_FILES:
            found[name] = (await _api(nats_url, f"$JS.API.STREAM.INFO.{name}"))["config"]
        consumer = await _api(nats_url, f"$JS.API.CONSUMER.INFO.{CHARGE_STREAM}.{LOADER_CONSUMER}")
        found["consumer"] = consumer["config"]
        found["consumer_created"] = consumer["created"]
        return found

    return asyncio.run(read())


def _load(database_url: str, nats_url: str) -> str:
    result = billing(
        "events",
        "load",
        "--until-idle",
        "--idle-seconds",
        "0.3",
        "--metrics-port",
        "0",
        BILLING_DATABASE_URL=database_url,
        BILLING_NATS_URL=nats_url,
        columns=200,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stderr


def _delete_streams(nats_url: str) -> None:
    async def delete() -> None:
        for name in STREAM_FILES:
            await _api(nats_url, f"$JS.API.STREAM.DELETE.{name}")

    asyncio.run(delete())


def _create_from_files(nats_url: str) -> None:
    async def create() -> None:
        for name, path in STREAM_FILES.items():
            config = {**_file(path), "num_replicas": 1}
            await _api(nats_url, f"$JS.API.STREAM.CREATE.{name}", config)
        consumer = _file(CONSUMER_FILE)
        await _api(
            nats_url,
            f"$JS.API.CONSUMER.CREATE.{CHARGE_STREAM}.{consumer['durable_name']}",
            {"stream_name": CHARGE_STREAM, "config": consumer, "action": "create"},
        )

    asyncio.run(create())


def test_the_definitions_are_what_the_loader_creates_and_resumes(
    database_url: str, nats_url: str
) -> None:
    _load(database_url, nats_url)
    created = _configs(nats_url)
    for name, path in STREAM_FILES.items():
        definition = _file(path)
        for key, value in PRODUCTION_ONLY.items():
            assert definition.pop(key) == value
        mismatched = {
            k: (v, created[name].get(k)) for k, v in definition.items() if created[name].get(k) != v
        }
        assert not mismatched, f"{path.name}: file vs server {mismatched}"
    consumer = _file(CONSUMER_FILE)
    mismatched = {
        k: (v, created["consumer"].get(k))
        for k, v in consumer.items()
        if created["consumer"].get(k) != v
    }
    assert not mismatched, f"{CONSUMER_FILE.name}: file vs server {mismatched}"

    # Created from the files instead: the very same configuration, setting for setting.
    _delete_streams(nats_url)
    _create_from_files(nats_url)
    from_files = _configs(nats_url)
    for name in [*STREAM_FILES, "consumer"]:
        assert from_files[name] == created[name], name

    # And the loader takes them as they are.
    log = _load(database_url, nats_url)
    again = _configs(nats_url)
    assert again["consumer_created"] == from_files["consumer_created"], "consumer recreated"
    assert f"consumer {LOADER_CONSUMER} resumed" in " ".join(log.split())
    for name in [*STREAM_FILES, "consumer"]:
        assert again[name] == from_files[name], name
