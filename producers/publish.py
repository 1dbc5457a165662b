"""Publish charge events to JetStream as they are, counting what the server stored.

Each payload is published byte for byte; `Nats-Msg-Id` is set to its `event_id` when the
payload is a JSON object with a string `event_id`, so the stream's duplicate window drops a
re-publish and says so in the ack (`"duplicate": true`). Publishes are asynchronous with a
bounded number of acks in flight: one reply subscription counts every ack, no request
round trip per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import nats
import nats.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

from billing.errors import BillingError
from billing.settings import CHARGE_SUBJECT
from billing.streams import ensure_streams

_log = logging.getLogger(__name__)
DEFAULT_MAX_IN_FLIGHT: Final = 20_000
MAX_ERRORS_KEPT: Final = 20

Progress = Callable[[int], None]


class PublishError(BillingError):
    """Events could not be published (no server, no stream, refused messages)."""


@dataclass
class ChargePublishReport:
    """What the server said about each charge event published."""

    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped_blank: int = 0
    without_msg_id: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def unacknowledged(self) -> int:
        """Publishes the server never answered (timeout)."""
        return self.sent - self.stored - self.duplicates - self.failed

    def _error(self, text: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(text)


async def _quiet(error: Exception) -> None:
    _log.debug("nats: %s", error)


def msg_id_of(payload: bytes) -> str | None:
    """The event_id of a payload, when it is a JSON object with a non-empty string event_id."""
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if type(event) is dict:
        event_id = event.get("event_id")
        if type(event_id) is str and event_id.strip() and "\n" not in event_id:
            return event_id
    return None


def read_lines(path: Path) -> Iterable[bytes]:
    """The lines of a JSONL file, without their line ends, as bytes."""
    with path.open("rb") as file:
        for line in file:
            yield line.rstrip(b"\r\n")


class _AckCounter:
    """Counts the acks of one publishing run, and lets the publisher wait for room."""

    def __init__(self, report: ChargePublishReport, max_in_flight: int) -> None:
        self.report = report
        self.acked = 0
        self.room = asyncio.Event()
        self.room.set()
        self.all_acked = asyncio.Event()
        self._low_water = max_in_flight // 2
        self.done_sending = False

    async def on_ack(self, msg: Msg) -> None:
        report = self.report
        self.acked += 1
        data = msg.data
        if not data:
            status = (msg.headers or {}).get("Status", "")
            line = msg.subject.rsplit(".", 1)[-1]
            if status == "503":
                report._error(f"line {line}: no stream captures the subject (no responders)")
            else:
                report._error(f"line {line}: status {status or 'empty reply'}")
        elif b'"error"' in data:
            line = msg.subject.rsplit(".", 1)[-1]
            detail = orjson.loads(data).get("error", {}).get("description", data.decode())
            report._error(f"line {line}: {detail}")
        elif b'"duplicate"' in data and orjson.loads(data).get("duplicate") is True:
            report.duplicates += 1
        else:
            report.stored += 1
        if report.sent - self.acked <= self._low_water:
            self.room.set()
        if self.done_sending and self.acked >= report.sent:
            self.all_acked.set()


class Publisher:
    """One connection publishing charge events with bounded acks in flight.

    `async with Publisher(url) as publisher: await publisher.send(payloads)`; the report
    counts what the server answered once `finish()` (or leaving the block) has waited for
    the outstanding acks.
    """

    def __init__(
        self,
        nats_url: str,
        *,
        subject: str = CHARGE_SUBJECT,
        duplicate_window_seconds: float = 120.0,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        ack_timeout_seconds: float = 30.0,
        with_msg_id: bool = True,
    ) -> None:
        self.nats_url = nats_url
        self.subject = subject
        self.duplicate_window_seconds = duplicate_window_seconds
        self.max_in_flight = max_in_flight
        self.ack_timeout_seconds = ack_timeout_seconds
        self.with_msg_id = with_msg_id
        self.report = ChargePublishReport()
        self._counter = _AckCounter(self.report, max_in_flight)
        self._nc: Client | None = None
        self._prefix = ""
        self._line = 0
        self._started = time.monotonic()

    async def __aenter__(self) -> Publisher:
        try:
            # A few quick attempts, bounded; errors are reported once, by the exception
            # (nats-py's default callback would log each attempt with a traceback).
            self._nc = await nats.connect(
                self.nats_url,
                name="billing-publish",
                connect_timeout=2,
                max_reconnect_attempts=2,
                reconnect_time_wait=0.5,
                error_cb=_quiet,
            )
        except (nats.errors.Error, OSError, TimeoutError) as error:
            raise PublishError(
                f"cannot connect to NATS at {self.nats_url} ({error or type(error).__name__}): "
                "start it (`billing services up`) or fix BILLING_NATS_URL"
            ) from None
        await ensure_streams(self._nc.jetstream(), self.duplicate_window_seconds)
        self._prefix = self._nc.new_inbox() + "."
        await self._nc.subscribe(
            self._prefix + "*",
            cb=self._counter.on_ack,
            pending_msgs_limit=4 * self.max_in_flight,
            pending_bytes_limit=0,
        )
        self._started = time.monotonic()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if exc_info[0] is None:
                await self.finish()
        finally:
            assert self._nc is not None
            await self._nc.close()
            self.report.seconds = time.monotonic() - self._started

    async def send(self, payloads: Iterable[bytes], on_progress: Progress | None = None) -> None:
        """Publish each non-blank payload (line numbers continue across calls)."""
        assert self._nc is not None, "use Publisher as an async context manager"
        nc, report, counter = self._nc, self.report, self._counter
        publish, subject, prefix = nc.publish, self.subject, self._prefix
        progress_every, sent_before = 10_000, report.sent
        for payload in payloads:
            self._line += 1
            if not payload.strip():
                report.skipped_blank += 1
                continue
            if report.sent - counter.acked >= self.max_in_flight:
                counter.room.clear()
                await counter.room.wait()
            msg_id = msg_id_of(payload) if self.with_msg_id else None
            headers = None if msg_id is None else {"Nats-Msg-Id": msg_id}
            try:
                await publish(subject, payload, reply=f"{prefix}{self._line}", headers=headers)
            except nats.errors.MaxPayloadError:
                report._error(
                    f"line {self._line}: {len(payload)} bytes, more than the server's maximum "
                    f"message size ({nc.max_payload} bytes); not published"
                )
                continue
            if msg_id is None:
                report.without_msg_id += 1
            report.sent += 1
            if on_progress is not None and report.sent % progress_every == 0:
                on_progress(progress_every)
        if on_progress is not None:
            on_progress((report.sent - sent_before) % progress_every)

    async def finish(self) -> ChargePublishReport:
        """Wait (bounded) for the acks of everything sent; the report."""
        assert self._nc is not None
        counter = self._counter
        if counter.acked < self.report.sent:
            await self._nc.flush()
            counter.done_sending = True
            if counter.acked < self.report.sent:
                counter.all_acked.clear()
                with contextlib.suppress(TimeoutError):  # reported as unacknowledged
                    await asyncio.wait_for(
                        counter.all_acked.wait(), timeout=self.ack_timeout_seconds
                    )
            counter.done_sending = False
        return self.report


async def publish_payloads(
    nats_url: str,
    payloads: Iterable[bytes],
    *,
    subject: str = CHARGE_SUBJECT,
    duplicate_window_seconds: float = 120.0,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ack_timeout_seconds: float = 30.0,
    with_msg_id: bool = True,
    on_progress: Progress | None = None,
) -> ChargePublishReport:
    """Publish every non-blank payload to `subject`; the report counts the server's answers."""
    publisher = Publisher(
        nats_url,
        subject=subject,
        duplicate_window_seconds=duplicate_window_seconds,
        max_in_flight=max_in_flight,
        ack_timeout_seconds=ack_timeout_seconds,
        with_msg_id=with_msg_id,
    )
    async with publisher:
        await publisher.send(payloads, on_progress)
    return publisher.report
