"""NATS side of the loader: the durable push consumer `billing-loader` and its delivery buffer.

Why push with AckPolicy.ALL: nats-py's pull `fetch()` costs a request per batch and a
coroutine per message (~35k msg/s here); a push subscription with one ack for the last message
of a committed batch moves several times that. AckAll acknowledges every message up to the
acked stream sequence, so it is only correct if every message up to there is committed. Three
rules make sure of it:

- The committed high-water mark (raw.loader_checkpoints) is the truth. At bind time the
  consumer is resumed only if it never delivered past that mark; otherwise it is recreated to
  start at mark + 1 (deliveries that were in flight are simply delivered again).
- Deliveries must be contiguous: each message's consumer sequence must follow the previous
  one. A gap (a message lost between server and callback) stops intake; what was received
  before the gap is committed and the consumer is rebound at the new mark.
- A delivery at or below the highest stream sequence already accepted is a redelivery: it is
  skipped (counted as a duplicate) and acknowledged once the mark covers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Final

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy
from nats.js.errors import NotFoundError

from loader.errors import LoaderRefusedError
from loader.natsclient import DeliveryClient

log = logging.getLogger(__name__)

# $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending> (without a domain)
_V1_TOKENS: Final = 9
_BOUND_ELSEWHERE_WAIT_SECONDS: Final = 5.0

# (stream sequence, subject, reply (the ack subject), payload), as received
Delivery = tuple[int, bytes, bytes, bytes]


@dataclass(frozen=True)
class ConsumerSettings:
    """How the durable consumer is configured."""

    stream: str
    name: str
    max_ack_pending: int
    ack_wait_seconds: float
    idle_heartbeat_seconds: float = 5.0
    # The client-side queue never needs more than what the server may have in flight.
    pending_msgs_limit: int = 0
    # Deliveries straight from the protocol reader (DeliveryClient); False: nats-py's queue
    # and callback (kept for tests that make the client queue overflow).
    direct_delivery: bool = True

    @property
    def deliver_subject(self) -> str:
        return f"_DELIVER.{self.name}"

    @property
    def queue_limit(self) -> int:
        return self.pending_msgs_limit or 2 * self.max_ack_pending + 1000


def stream_and_consumer_sequence(reply: bytes) -> tuple[int, int]:
    """Stream and consumer (delivery) sequences from a JetStream ack subject."""
    tokens = reply.split(b".")
    if len(tokens) == _V1_TOKENS:
        return int(tokens[5]), int(tokens[6])
    # $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<dseq>...
    return int(tokens[7]), int(tokens[8])


def jetstream_timestamp(reply: bytes) -> float:
    """When the stream stored the message (Unix seconds), from its JetStream ack subject."""
    tokens = reply.split(b".")
    nanoseconds = int(tokens[7] if len(tokens) == _V1_TOKENS else tokens[9])
    return nanoseconds / 1e9


class ChargeConsumer:
    """Binds the durable consumer and buffers its deliveries for the batch writer."""

    def __init__(self, nc: DeliveryClient, settings: ConsumerSettings, batch_size: int) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self.settings = settings
        self._batch_size = batch_size
        self._subscription: JetStreamContext.PushSubscription | None = None
        self._accepted: list[Delivery] = []
        self._duplicates: list[Delivery] = []
        self._first_arrival = 0.0
        self._max_accepted = 0
        self._last_consumer_sequence = 0
        self._resync_reason: str | None = None
        self._drop_seen = False
        self._wakeup = asyncio.Event()
        self._interrupted = False
        self.received = 0
        self.last_arrival = time.monotonic()

    @property
    def bound(self) -> bool:
        """True while the subscription is live."""
        return self._subscription is not None

    @property
    def resync_reason(self) -> str | None:
        """Why the consumer must be rebound after the batch in hand, if it must."""
        return self._resync_reason

    def pending_in_buffer(self) -> int:
        """Deliveries received and not yet taken by the writer."""
        return len(self._accepted) + len(self._duplicates)

    async def bind(self, high_water: int, rebind: bool = False) -> str:
        """Ensure the consumer fits the committed high-water mark and subscribe to it.

        `rebind`: this process just unsubscribed, so the server's "bound" flag may lag.
        """
        info = await self._current_info(wait_if_bound=not rebind)
        if info is None:
            await self._create(high_water)
            outcome = "created"
        else:
            reason = self._recreate_reason(info, high_water)
            if reason is None:
                outcome = f"resumed (delivered up to stream sequence {_delivered(info)})"
            else:
                await self._js.delete_consumer(self.settings.stream, self.settings.name)
                await self._create(high_water)
                outcome = f"recreated to start at stream sequence {high_water + 1}: {reason}"
        info = await self._js.consumer_info(self.settings.stream, self.settings.name)
        self._max_accepted = high_water
        self._last_consumer_sequence = info.delivered.consumer_seq if info.delivered else 0
        self._resync_reason = None
        self._drop_seen = False
        self._subscription = await self._js.subscribe_bind(
            stream=self.settings.stream,
            config=info.config,
            consumer=self.settings.name,
            cb=self._on_message,
            manual_ack=True,
            pending_msgs_limit=self.settings.queue_limit,
            pending_bytes_limit=0,  # bounded by max_ack_pending instead: a drop is a gap
        )
        if self.settings.direct_delivery:
            self._nc.deliver_directly(self._subscription._sub, self._on_delivery)
        log.info("consumer %s %s", self.settings.name, outcome)
        return outcome

    async def unbind(self) -> None:
        """Stop intake; deliveries already buffered stay for the writer."""
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            self._nc.stop_delivering_directly(subscription._sub)
            await subscription.unsubscribe()

    def request_resync(self, reason: str) -> None:
        """Stop accepting deliveries; the writer commits what it has and rebinds."""
        if self._resync_reason is None:
            log.warning("consumer %s must be rebound: %s", self.settings.name, reason)
            self._resync_reason = reason
            self._wakeup.set()

    async def info(self) -> ConsumerInfo:
        """The server's view of the consumer (pending, ack pending, delivered)."""
        info: ConsumerInfo = await self._js.consumer_info(self.settings.stream, self.settings.name)
        return info

    def note_drop(self) -> None:
        """The client dropped a delivery: the gap shows at the next delivery, or, if none
        comes, the writer rebinds once the buffer is drained (see drained_after_drop)."""
        self._drop_seen = True

    def drained_after_drop(self) -> bool:
        """A delivery was dropped and everything received before it has been taken."""
        return self._drop_seen and not self._accepted and not self._duplicates

    async def _current_info(self, wait_if_bound: bool = True) -> ConsumerInfo | None:
        deadline = time.monotonic() + _BOUND_ELSEWHERE_WAIT_SECONDS
        while True:
            try:
                info: ConsumerInfo = await self._js.consumer_info(
                    self.settings.stream, self.settings.name
                )
            except NotFoundError:
                return None
            # A crashed loader's connection can linger on the server for a moment.
            if not info.push_bound or not wait_if_bound:
                return info
            if time.monotonic() > deadline:
                raise LoaderRefusedError(
                    f"consumer {self.settings.name!r} of stream {self.settings.stream} is bound "
                    "to another subscriber (another loader, perhaps against another database); "
                    "stop it first"
                )
            await asyncio.sleep(0.25)

    def _recreate_reason(self, info: ConsumerInfo, high_water: int) -> str | None:
        config = info.config
        wanted = self.settings
        if config.ack_policy != AckPolicy.ALL:
            return f"its ack policy is {config.ack_policy}, not all"
        if config.deliver_subject != wanted.deliver_subject:
            return f"its deliver subject is {config.deliver_subject}"
        if config.filter_subject or config.filter_subjects or config.deliver_group:
            return "it filters subjects or has a deliver group"
        if config.max_ack_pending != wanted.max_ack_pending:
            return f"max_ack_pending changes to {wanted.max_ack_pending}"
        if config.ack_wait is None or abs(config.ack_wait - wanted.ack_wait_seconds) > 1e-3:
            return f"ack_wait changes to {wanted.ack_wait_seconds} s"
        delivered = _delivered(info)
        if delivered > high_water:
            return f"it delivered up to {delivered} but the database holds up to {high_water}"
        ack_floor = info.ack_floor.stream_seq if info.ack_floor else 0
        if ack_floor > high_water:
            return f"it acknowledged up to {ack_floor} but the database holds up to {high_water}"
        return None

    async def _create(self, high_water: int) -> None:
        await self._js.add_consumer(
            self.settings.stream,
            ConsumerConfig(
                durable_name=self.settings.name,
                description="billing loader: charge events into raw.message_charged",
                deliver_subject=self.settings.deliver_subject,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE if high_water else DeliverPolicy.ALL,
                opt_start_seq=high_water + 1 if high_water else None,
                ack_policy=AckPolicy.ALL,
                ack_wait=self.settings.ack_wait_seconds,
                max_ack_pending=self.settings.max_ack_pending,
                max_deliver=-1,
                idle_heartbeat=self.settings.idle_heartbeat_seconds,
            ),
        )

    async def ack(self, delivery: Delivery) -> None:
        """Acknowledge a delivery (with AckAll: every delivery up to its stream sequence)."""
        await self._nc.publish(delivery[2].decode())

    async def _on_message(self, msg: Msg) -> None:
        self._on_delivery(msg.subject.encode(), msg.reply.encode(), msg.data)

    def _on_delivery(self, subject: bytes, reply: bytes, data: bytes) -> None:
        if self._resync_reason is not None or self._subscription is None:
            return  # delivered again after the rebind
        try:
            stream_sequence, consumer_sequence = stream_and_consumer_sequence(reply)
        except (ValueError, IndexError):
            log.error("ignoring a delivery without a JetStream ack subject: %r", reply)
            return
        if consumer_sequence != self._last_consumer_sequence + 1:
            self.request_resync(
                f"delivery gap: consumer sequence {consumer_sequence} after "
                f"{self._last_consumer_sequence}"
            )
            return
        self._last_consumer_sequence = consumer_sequence
        self.received += 1
        self.last_arrival = now = time.monotonic()
        if stream_sequence <= self._max_accepted:
            self._duplicates.append((stream_sequence, subject, reply, data))
            if len(self._duplicates) == 1 and not self._accepted:
                self._first_arrival = now
                self._wakeup.set()
            return
        self._max_accepted = stream_sequence
        accepted = self._accepted
        accepted.append((stream_sequence, subject, reply, data))
        if len(accepted) == 1:
            if not self._duplicates:
                self._first_arrival = now
            self._wakeup.set()
        elif len(accepted) >= self._batch_size:
            self._wakeup.set()

    async def next_batch(
        self, linger_seconds: float, wait_seconds: float, flush: bool = False
    ) -> tuple[list[Delivery], list[Delivery]]:
        """Up to batch_size accepted deliveries (and duplicates), once a batch is full or has
        lingered enough.

        Returns empty lists after `wait_seconds` without any delivery. With `flush`, or when
        a rebind is due, returns whatever is buffered at once.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            now = time.monotonic()
            buffered = self._accepted or self._duplicates
            if self._interrupted:
                self._interrupted = False
                flush = True
            if buffered and (
                flush
                or self._resync_reason is not None
                or len(self._accepted) >= self._batch_size
                or now - self._first_arrival >= linger_seconds
            ):
                return self._take()
            if flush or (not buffered and (now >= deadline or self._resync_reason is not None)):
                return [], []
            timeout = self._first_arrival + linger_seconds - now if buffered else deadline - now
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=max(timeout, 0.001))

    def _take(self) -> tuple[list[Delivery], list[Delivery]]:
        accepted = self._accepted[: self._batch_size]
        self._accepted = self._accepted[self._batch_size :]
        if self._accepted:
            # Redeliveries wait until no accepted delivery is left uncommitted, so acking the
            # highest of them never covers an uncommitted message.
            return accepted, []
        duplicates, self._duplicates = self._duplicates, []
        return accepted, duplicates

    def interrupt(self) -> None:
        """Make a waiting next_batch return what is buffered now (on stop)."""
        self._interrupted = True
        self._wakeup.set()


def _delivered(info: ConsumerInfo) -> int:
    return info.delivered.stream_seq if info.delivered else 0
