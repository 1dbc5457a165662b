"""The Prometheus metric families the loader owns (SPEC §6), in a registry of their own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

BATCH_SIZE_BUCKETS = (1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 50_000)
COMMIT_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


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
        self.rebinds = Counter(
            "billing_loader_consumer_rebinds",
            "Times the consumer was rebound after a delivery gap.",
            registry=r,
        )
