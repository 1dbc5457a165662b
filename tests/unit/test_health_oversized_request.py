"""The metrics endpoint (loader and exporter share billing.health.HealthServer) survives an
oversized request line or header: it answers 414/431, logs no unhandled exception, and keeps
serving (issue 18, section 4)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry

from billing.health import HealthServer


async def _exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
    except ConnectionError:
        pass  # the server may close before it has read everything: that is fine
    try:
        return await asyncio.wait_for(reader.read(), 5)
    except ConnectionError:
        return b""
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
        (b"GET /metrics HTTP/1.1\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", b"431"),
    ],
    ids=["request-line", "header"],
)
def test_an_oversized_request_is_refused_and_the_server_keeps_serving(
    caplog: pytest.LogCaptureFixture, request_bytes: bytes, status: bytes
) -> None:
    async def scenario() -> tuple[bytes, bytes]:
        server = HealthServer(CollectorRegistry(), lambda: {"postgres": True})
        port = await server.start("127.0.0.1", 0)
        try:
            oversized = await _exchange(port, request_bytes)
            await asyncio.sleep(0.1)  # let the handler finish (and log, if it failed)
            after = await _exchange(port, b"GET /health/live HTTP/1.1\r\n\r\n")
        finally:
            await server.stop()
        return oversized, after

    with caplog.at_level(logging.DEBUG):
        oversized, after = asyncio.run(scenario())
    assert after.startswith(b"HTTP/1.1 200 OK"), after
    assert b'{"live": true}' in after
    if oversized:  # a client still sending may see the connection reset instead
        assert oversized.startswith(b"HTTP/1.1 " + status), oversized[:80]
    failures = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert failures == [], [record.getMessage() for record in failures]
