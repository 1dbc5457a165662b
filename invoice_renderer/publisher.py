"""Publish the outbox: billing.invoice.generated.v1 to stream BILLING_INVOICES.

Each unpublished outbox row is sent with header Nats-Msg-Id = invoice number, then marked
published. A crash after sending and before marking cannot send an event twice:
- within the stream's duplicate window, JetStream drops the re-send (a `duplicate` ack);
- after it, the publisher first reads back the Nats-Msg-Id headers the stream received since
  the oldest unpublished row was written, and marks those rows published without sending.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from billing.contracts import ContractViolation, check_invoice_generated
from billing.errors import BillingError, NatsUnavailableError
from billing.locks import Lock, advisory_lock
from billing.settings import INVOICE_STREAM, INVOICE_SUBJECT, Settings
from billing.streams import ensure_streams
from invoice_renderer import records

_log = logging.getLogger(__name__)
# How far before the oldest unpublished row the stream is read back: covers clock skew
# between the database and the NATS server.
_CLOCK_SKEW = timedelta(minutes=5)
_MARK_EVERY = 100


_PUBLISH_BUSY = "another publish run is in progress on this database; wait for it to finish"


class OutboxContractError(BillingError):
    """An outbox row's payload does not satisfy billing.invoice.generated.v1."""


@dataclass
class OutboxPublishReport:
    """What a run publishing the outbox (invoice events) did."""

    pending: int = 0
    published: int = 0
    duplicates: int = 0
    found_in_stream: int = 0

    @property
    def marked(self) -> int:
        """Outbox rows marked published by this run."""
        return self.published + self.found_in_stream


@dataclass(frozen=True)
class _Row:
    event_id: Any
    invoice_number: str
    subject: str
    payload: dict[str, Any]
    created_at: datetime


async def _log_nats_error(error: Exception) -> None:
    _log.debug("nats: %s", error)


def _unpublished(conn: records.Connection) -> list[_Row]:
    rows = conn.execute(
        """
        select event_id, invoice_number, subject, payload, created_at
        from billing.invoice_outbox
        where published_at is null
        order by created_at, invoice_number
        """
    ).fetchall()
    conn.commit()
    return [_Row(*row) for row in rows]


def _mark_published(conn: records.Connection, rows: list[_Row]) -> None:
    if rows:
        with conn.transaction():
            conn.execute(
                "update billing.invoice_outbox set published_at = now()"
                " where event_id = any(%s) and published_at is null",
                ([row.event_id for row in rows],),
            )
        conn.commit()


async def _message_ids_since(jetstream: Any, since: datetime) -> set[str]:
    """The Nats-Msg-Id of every invoice event the stream received since `since`."""
    from nats.errors import TimeoutError as NatsTimeoutError
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    info = await jetstream.stream_info(INVOICE_STREAM)
    if not info.state.messages:
        return set()
    last = info.state.last_seq
    subscription = await jetstream.pull_subscribe(
        INVOICE_SUBJECT,
        stream=INVOICE_STREAM,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=since,
            ack_policy=AckPolicy.NONE,
            headers_only=True,
            inactive_threshold=60.0,
            mem_storage=True,
        ),
    )
    seen: set[str] = set()
    try:
        remaining = (await subscription.consumer_info()).num_pending
        while remaining > 0:
            try:
                messages = await subscription.fetch(batch=min(remaining, 500), timeout=5.0)
            except NatsTimeoutError:
                return seen
            for message in messages:
                remaining -= 1
                if message.headers and "Nats-Msg-Id" in message.headers:
                    seen.add(message.headers["Nats-Msg-Id"])
                if message.metadata.sequence.stream >= last:
                    return seen
        return seen
    finally:
        await subscription.unsubscribe()


async def _publish(
    settings: Settings, conn: records.Connection, nats_url: str
) -> OutboxPublishReport:
    import nats
    from nats.errors import NoServersError

    report = OutboxPublishReport()
    rows = _unpublished(conn)
    report.pending = len(rows)
    if not rows:
        return report
    try:
        # Bounded retries (nats-py retries a refused first connect 60 times by default).
        client = await nats.connect(
            nats_url,
            connect_timeout=5,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=_log_nats_error,
        )
    except (NoServersError, OSError) as error:
        raise NatsUnavailableError(
            f"cannot reach NATS at {nats_url} ({error}); {len(rows)} invoice event(s) stay in "
            "the outbox: start NATS (`billing services up`) and run `billing invoices publish` "
            "again"
        ) from None
    try:
        jetstream = client.jetstream()
        # Both streams, in billing.streams' order: a legacy BILLING on `billing.>` must be
        # narrowed before BILLING_INVOICES can claim `billing.invoice.>`.
        await ensure_streams(jetstream, settings.duplicate_window_seconds)
        seen = await _message_ids_since(
            jetstream, min(row.created_at for row in rows) - _CLOCK_SKEW
        )
        already = [row for row in rows if row.invoice_number in seen]
        _mark_published(conn, already)
        report.found_in_stream = len(already)
        sent: list[_Row] = []
        for row in rows:
            if row.invoice_number in seen:
                continue
            try:
                check_invoice_generated(row.payload)
            except ContractViolation as error:
                raise OutboxContractError(
                    f"outbox event {row.event_id} of {row.invoice_number} breaks the contract "
                    f"({error}); nothing was sent for it. Fix the row or delete it and render "
                    "the document's event again."
                ) from error
            ack = await jetstream.publish(
                row.subject,
                orjson.dumps(row.payload),
                stream=INVOICE_STREAM,
                headers={"Nats-Msg-Id": row.invoice_number},
            )
            report.published += 1
            report.duplicates += int(bool(ack.duplicate))
            sent.append(row)
            if len(sent) >= _MARK_EVERY:
                _mark_published(conn, sent)
                sent = []
        _mark_published(conn, sent)
    finally:
        await client.close()
    return report


def publish_pending(settings: Settings, database_url: str, nats_url: str) -> OutboxPublishReport:
    """Send every unpublished billing.invoice.generated.v1 event of the outbox, once."""
    with (
        records.renderer_connection(settings, database_url) as conn,
        advisory_lock(conn, Lock.PUBLISH, busy=_PUBLISH_BUSY),
    ):
        return asyncio.run(_publish(settings, conn, nats_url))
