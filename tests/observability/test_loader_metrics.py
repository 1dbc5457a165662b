"""The loader's publish -> committed histogram: one observation per committed message, the
commit time minus the JetStream timestamp of the message."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from loader.consumer import jetstream_timestamp
from loader.metrics import PUBLISH_TO_COMMIT_BUCKETS, BatchHistogram
from loader.service import Loader
from tests.support.ingest import loader_config, payload, publish


def test_every_committed_message_is_observed_once_with_its_age(
    database_url: str, nats_url: str
) -> None:
    published_before = time.time()
    publish(nats_url, [payload() for _ in range(40)] + [b"not json"] * 2)
    time.sleep(0.3)  # the messages wait in the stream: their latency includes it
    loader = Loader(loader_config(database_url, nats_url))

    summary = asyncio.run(loader.run())
    finished = time.time()

    assert (summary.loaded, summary.rejected) == (40, 2)
    registry = loader.metrics.registry
    name = "billing_loader_publish_to_commit_seconds"
    assert registry.get_sample_value(f"{name}_count") == 42
    total = registry.get_sample_value(f"{name}_sum")
    assert total is not None
    assert 42 * 0.3 <= total <= 42 * (finished - published_before)
    assert registry.get_sample_value(f"{name}_bucket", {"le": "0.25"}) == 0
    assert registry.get_sample_value(f"{name}_bucket", {"le": "+Inf"}) == 42


def test_the_timestamp_is_read_from_both_ack_subject_forms() -> None:
    v1 = b"$JS.ACK.BILLING.billing-loader.1.17.17.1764633600123456789.0"
    domain = b"$JS.ACK.hub.ACCOUNTHASH.BILLING.billing-loader.1.17.17.1764633600123456789.0.tok"

    assert jetstream_timestamp(v1) == jetstream_timestamp(domain) == 1764633600.123456789


def test_a_batch_histogram_exposes_what_a_histogram_of_the_same_values_does() -> None:
    values = [0.001, 0.01, 0.0100001, 0.4, 0.5, 0.7, 3.0, 59.0, 4000.0, 0.26]
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    batch = BatchHistogram("lag_seconds", "lag", PUBLISH_TO_COMMIT_BUCKETS, ours)
    reference = Histogram("lag_seconds", "lag", buckets=PUBLISH_TO_COMMIT_BUCKETS, registry=theirs)

    batch.observe_many(values[:4])
    batch.observe_many([])
    batch.observe_many(values[4:])
    for item in values:
        reference.observe(item)

    def lines(registry: CollectorRegistry) -> list[str]:
        text = generate_latest(registry).decode().splitlines()
        return [line for line in text if "_created" not in line]

    assert lines(ours) == lines(theirs)
