"""A tiny HTTP server on a process's event loop: /metrics, /health/live, /health/ready.

GET only, one request per connection: what Prometheus and Kubernetes probes need, without a
web framework or a thread. The loader and the exporter both serve one (SPEC section 6).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from billing.errors import RefusedError

log = logging.getLogger(__name__)

_REQUEST_TIMEOUT_SECONDS: Final = 5.0
MAX_PORT: Final = 65_535
_STATUS_TEXT: Final = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    503: "Unavailable",
}

# The answer now, or a coroutine that checks first (the loader probes PostgreSQL at probe time).
ReadinessCheck = Callable[[], dict[str, bool] | Awaitable[dict[str, bool]]]


class MetricsAddressError(RefusedError):
    """The metrics address or port cannot be served (out of range, not ours, in use)."""


class HealthServer:
    """Serves the metrics registry and the liveness/readiness answers."""

    def __init__(self, registry: CollectorRegistry, readiness: ReadinessCheck) -> None:
        self._registry = registry
        self._readiness = readiness
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (port 0: any free port); returns the port.

        MetricsAddressError when the port is out of range or the address cannot be bound.
        """
        if not 0 <= port <= MAX_PORT:
            raise MetricsAddressError(
                f"metrics port {port} is out of range: use 0 (any free port) to {MAX_PORT}"
            )
        try:
            self._server = await asyncio.start_server(self._handle, host, port)
        except OSError as error:
            reason = os.strerror(error.errno) if error.errno else str(error)
            raise MetricsAddressError(
                f"cannot serve metrics on {host}:{port} ({reason}): choose another "
                "--metrics-host (an address of this machine) or --metrics-port"
            ) from None
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for one request."""
        path = path.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"GET only\n"
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self._registry)
        if path == "/health/live":
            return 200, "application/json", b'{"live": true}\n'
        if path == "/health/ready":
            answer = self._readiness()
            checks = await answer if inspect.isawaitable(answer) else answer
            ready = all(checks.values())
            body = json.dumps({"ready": ready, **checks}).encode() + b"\n"
            return (200 if ready else 503), "application/json", body
        return 404, "text/plain", b"not found: try /metrics, /health/live, /health/ready\n"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_REQUEST_TIMEOUT_SECONDS):
                status, content_type, body, method = await self._answer(reader)
            head = (
                f"HTTP/1.1 {status} {_STATUS_TEXT[status]}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            writer.write(head if method == "HEAD" else head + body)
            await writer.drain()
        except (TimeoutError, ConnectionError) as error:
            log.debug("health request dropped: %s", error)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes, str]:
        """Read one request; a line longer than the stream's limit (64 KiB) is answered 414
        (request line) or 431 (a header), never raised: asyncio reports it as ValueError."""
        try:
            request_line = (await reader.readline()).decode("latin-1").split()
        except ValueError:
            return 414, "text/plain", b"request line too long\n", "GET"
        try:
            while (await reader.readline()).strip():
                pass  # headers are not needed
        except ValueError:
            return 431, "text/plain", b"request header too long\n", "GET"
        method, path = ([*request_line, "", ""])[:2]
        status, content_type, body = await self.respond(method, path)
        return status, content_type, body, method
