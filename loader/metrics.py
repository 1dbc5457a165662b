"""The Prometheus metric families the loader owns (SPEC §6), in a registry of their own."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

# No `_created` series beside each counter and histogram: in the text format Prometheus
# scrapes they are gauges of their own that no query or panel uses (docs/observability.md).
disable_created_metrics()  # type: ignore[no-untyped-call]

BATCH_SIZE_BUCKETS = (1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 50_000)
COMMIT_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Publish -> committed: SPEC section 7 aims at a p99 under 0.5 s at 10,000 events/s offered;
# the upper buckets show a backlog being worked off (minutes to hours behind).
PUBLISH_TO_COMMIT_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
)


def _bound_text(bound: float) -> str:
    """A bucket's `le` as prometheus_client writes it: +Inf, 0.5, 1.0, 3600.0."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


class BatchHistogram(Collector):
    """A histogram observed a whole batch at a time (one call per committed batch).

    prometheus_client's Histogram takes one value per call, under a lock: for every event of
    a 5,000-event batch that is most of the cost. This sorts the batch once and adds each
    bucket's count by bisection; the exposition is the same (_bucket, _count, _sum).
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.buckets = tuple(sorted(buckets))
        self._counts = [0] * (len(self.buckets) + 1)  # the last one: +Inf
        self._sum = 0.0
        registry.register(self)

    def observe_many(self, values: Iterable[float]) -> None:
        """Add every value of the batch."""
        ordered = sorted(values)
        if not ordered:
            return
        below = 0
        for index, bound in enumerate(self.buckets):
            upto = bisect.bisect_right(ordered, bound)
            self._counts[index] += upto - below
            below = upto
        self._counts[-1] += len(ordered) - below
        self._sum += sum(ordered)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation)
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip((*self.buckets, float("inf")), self._counts, strict=True):
            cumulative += count
            buckets.append((_bound_text(bound), cumulative))
        family.add_metric([], buckets, self._sum)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation)


class LoaderMetrics:
    """Counters, histograms and gauges of one loader process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "billing_events_received",
            "Stream messages delivered to the loader (redeliveries included).",
            registry=r,
        )
        self.loaded = Counter(
            "billing_events_loaded",
            "Charge events committed into raw.message_charged.",
            registry=r,
        )
        self.rejected = Counter(
            "billing_events_rejected",
            "Messages committed into raw.rejected_messages (not JSON, contract, storage).",
            registry=r,
        )
        self.duplicate = Counter(
            "billing_events_duplicate",
            "Deliveries skipped because their stream sequence was already landed "
            "(at or below the high-water mark).",
            registry=r,
        )
        self.batch_size = Histogram(
            "billing_loader_batch_size",
            "Messages per committed batch (landed + rejected).",
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "billing_loader_commit_seconds",
            "Time to write and commit one batch (COPY + checkpoint + commit).",
            buckets=COMMIT_SECONDS_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "billing_consumer_lag",
            "Messages of stream BILLING not yet acknowledged by the loader's consumer "
            "(pending + ack pending), refreshed periodically.",
            registry=r,
        )
        self.last_commit = Gauge(
            "billing_loader_last_commit_timestamp_seconds",
            "Unix time of the last committed batch.",
            registry=r,
        )
        self.high_water = Gauge(
            "billing_loader_high_water_mark",
            "Highest stream sequence committed (raw.loader_checkpoints).",
            registry=r,
        )
        self.publish_to_commit = BatchHistogram(
            "billing_loader_publish_to_commit_seconds",
            "Commit time of each landed or rejected message minus its JetStream timestamp "
            "(when the stream stored it): lag in seconds.",
            PUBLISH_TO_COMMIT_BUCKETS,
            r,
        )
        self.rebinds = Counter(
            "billing_loader_consumer_rebinds",
            "Times the consumer was rebound after a delivery gap.",
            registry=r,
        )
