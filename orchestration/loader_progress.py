"""The close precondition (SPEC section 4): the loader has landed what the stream held.

At the start of a close, the charge stream's last sequence is the target. The close may go on
once the loader has committed up to it (its high-water mark in raw.loader_checkpoints), or
its durable consumer has nothing pending and nothing awaiting an ack. It waits for that,
bounded (settings.close_wait_seconds), and refuses with a readable report otherwise.

This module reads NATS and PostgreSQL only; it never imports the loader (its own process).
The close's raw source asset uses it, and `billing close` before it starts the Dagster run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import nats
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from billing import db
from billing.errors import BillingError
from billing.settings import CHARGE_STREAM, LOADER_CONSUMER

_NATS_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class StreamState:
    """What JetStream says about the charge stream and the loader's durable consumer."""

    stream_exists: bool
    last_sequence: int
    consumer_exists: bool
    pending: int
    ack_pending: int


@dataclass(frozen=True)
class LoaderProgress:
    """How far the loader is, against the stream's last sequence when the close started."""

    target_sequence: int
    high_water_mark: int
    stream: StreamState
    waited_seconds: float

    @property
    def consumer_drained(self) -> bool:
        """The durable consumer has delivered and had acknowledged everything in the stream."""
        return self.stream.consumer_exists and self.stream.pending + self.stream.ack_pending == 0

    @property
    def caught_up(self) -> bool:
        """Everything the stream held at the start is committed to raw tables."""
        return (
            self.target_sequence == 0
            or self.high_water_mark >= self.target_sequence
            or self.consumer_drained
        )

    @property
    def behind_by(self) -> int:
        """Stream messages up to the target that the loader has not committed yet."""
        return max(0, self.target_sequence - self.high_water_mark)

    def summary(self) -> str:
        """One readable paragraph: where the stream and the loader are."""
        if not self.stream.stream_exists:
            return f"stream {CHARGE_STREAM} does not exist yet: nothing to load"
        consumer = (
            f"consumer {LOADER_CONSUMER}: {self.stream.pending} pending, "
            f"{self.stream.ack_pending} awaiting ack"
            if self.stream.consumer_exists
            else f"consumer {LOADER_CONSUMER} does not exist (the loader never ran)"
        )
        return (
            f"stream {CHARGE_STREAM} held up to sequence {self.target_sequence} at the start; "
            f"the loader has committed up to {self.high_water_mark} "
            f"({self.behind_by} behind); {consumer}"
        )


class LoaderBehindError(BillingError):
    """The loader did not catch up with the stream within the wait: the close is refused."""

    def __init__(self, progress: LoaderProgress) -> None:
        self.progress = progress
        super().__init__(
            f"the loader is behind, so the month cannot be closed yet: {progress.summary()}. "
            f"Waited {progress.waited_seconds:.0f} s. Start the loader "
            "(`billing events load --until-idle`, or check the loader service and its "
            "BillingConsumerLagHigh alert), then close again; BILLING_CLOSE_WAIT_SECONDS sets "
            "how long a close waits."
        )


class StreamUnavailableError(BillingError):
    """NATS could not be asked where the stream is: the close cannot check its precondition."""


async def _quiet(error: Exception) -> None:
    del error


async def _read_stream_state(nats_url: str) -> StreamState:
    try:
        client = await nats.connect(
            nats_url,
            connect_timeout=_NATS_TIMEOUT_SECONDS,
            allow_reconnect=False,
            # Two attempts, half a second apart (nats-py reads 0 as "retry forever").
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=_quiet,  # the failure is reported once, below, without a traceback
        )
    except (OSError, NatsError, TimeoutError) as error:
        raise StreamUnavailableError(
            f"cannot reach NATS at {nats_url} to check that the loader caught up "
            f"({type(error).__name__}: {error}): start it (`billing services up`) or set "
            "BILLING_NATS_URL"
        ) from None
    try:
        jetstream = client.jetstream(timeout=_NATS_TIMEOUT_SECONDS)
        try:
            stream = await jetstream.stream_info(CHARGE_STREAM)
        except NotFoundError:
            return StreamState(False, 0, False, 0, 0)
        last_sequence = int(stream.state.last_seq or 0)
        try:
            consumer = await jetstream.consumer_info(CHARGE_STREAM, LOADER_CONSUMER)
        except NotFoundError:
            return StreamState(True, last_sequence, False, 0, 0)
        return StreamState(
            True,
            last_sequence,
            True,
            int(consumer.num_pending or 0),
            int(consumer.num_ack_pending or 0),
        )
    finally:
        await client.close()


def read_stream_state(nats_url: str) -> StreamState:
    """The charge stream's last sequence and the loader consumer's pending counts."""
    return asyncio.run(_read_stream_state(nats_url))


def read_high_water_mark(database_url: str, role: str | None = None) -> int:
    """The highest stream sequence the loader committed (0 when it never committed)."""
    with db.connect(database_url, role=role, autocommit=True) as conn:
        row = conn.execute(
            "select last_stream_sequence from raw.loader_checkpoints"
            " where consumer_name = %s and stream_name = %s",
            (LOADER_CONSUMER, CHARGE_STREAM),
        ).fetchone()
    return int(cast(int, row[0])) if row else 0


def wait_for_loader(
    nats_url: str,
    database_url: str,
    *,
    role: str | None = None,
    timeout_seconds: float,
    poll_seconds: float = 0.5,
    on_poll: Callable[[LoaderProgress], None] | None = None,
) -> LoaderProgress:
    """Wait until the loader has landed what the stream held now; raise LoaderBehindError
    (with the progress) when it has not after `timeout_seconds`."""
    started = time.monotonic()
    stream = read_stream_state(nats_url)
    target = stream.last_sequence
    while True:
        progress = LoaderProgress(
            target_sequence=target,
            high_water_mark=read_high_water_mark(database_url, role),
            stream=stream,
            waited_seconds=time.monotonic() - started,
        )
        if on_poll is not None:
            on_poll(progress)
        if progress.caught_up:
            return progress
        if progress.waited_seconds >= timeout_seconds:
            raise LoaderBehindError(progress)
        time.sleep(min(poll_seconds, max(0.0, timeout_seconds - progress.waited_seconds)))
        stream = read_stream_state(nats_url)
