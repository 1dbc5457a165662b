"""The values of the last refresh, and the metric families they are served as.

A scrape reads this snapshot and nothing else: no query ever runs because Prometheus scraped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CLOSE_OUTCOMES: Final = ("succeeded", "refused", "failed")


@dataclass
class Snapshot:
    """What the exporter last read; None: not known (yet), the family has no sample."""

    unpriced_events: int | None = None
    excluded_events: int | None = None
    negative_margin_charges: int | None = None
    invoices_issued: int | None = None
    outbox_backlog: int | None = None
    last_close_outcome: str | None = None
    last_close_finished: float | None = None
    last_close_duration: float | None = None
    last_closed_period_end: float | None = None
    refreshed_at: float | None = None
    refresh_seconds: float | None = None
    query_errors: dict[str, int] = field(default_factory=dict)


def _gauge(name: str, documentation: str, value: float | None, unit: str = "") -> Metric:
    family = GaugeMetricFamily(name, documentation, unit=unit)
    if value is not None:
        family.add_metric([], value)
    return family


class WarehouseCollector(Collector):
    """Serves a Snapshot as the warehouse-side families of SPEC section 6."""

    def __init__(self, registry: CollectorRegistry, queries: tuple[str, ...]) -> None:
        self.snapshot = Snapshot()
        self._queries = queries
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        yield _gauge(
            "billing_unpriced_events",
            "Charge events no pricing rule or operator cost matched (billing.unpriced_charges), "
            "every period.",
            s.unpriced_events,
        )
        yield _gauge(
            "billing_excluded_events",
            "Charge events Finance excludes from billing now (billing.event_exclusions).",
            s.excluded_events,
        )
        yield _gauge(
            "billing_negative_margin_charges",
            "Priced events in margin groups (period, tenant, operator, direction) that cost "
            "more than they bill, in periods not closed yet (billing.margins).",
            s.negative_margin_charges,
        )
        issued = CounterMetricFamily(
            "billing_invoices_issued",
            "Invoices issued so far, replacements included (billing.issued_invoices).",
        )
        if s.invoices_issued is not None:
            issued.add_metric([], s.invoices_issued)
        yield issued
        yield _gauge(
            "billing_outbox_backlog",
            "invoice.generated events in the outbox not published to NATS yet.",
            s.outbox_backlog,
        )
        status = GaugeMetricFamily(
            "billing_close_last_run_status",
            "1 for the outcome of the last close run (succeeded, refused, failed), 0 for the "
            "others (billing.close_runs).",
            labels=["status"],
        )
        if s.last_close_outcome is not None:
            for outcome in CLOSE_OUTCOMES:
                status.add_metric([outcome], 1.0 if outcome == s.last_close_outcome else 0.0)
        yield status
        yield _gauge(
            "billing_close_last_run_timestamp_seconds",
            "Unix time the last close run ended.",
            s.last_close_finished,
        )
        yield _gauge(
            "billing_close_last_run_duration_seconds",
            "How long the last close run took.",
            s.last_close_duration,
        )
        yield _gauge(
            "billing_close_last_closed_period_end_timestamp_seconds",
            "End (Unix time, exclusive) of the latest month a close run succeeded for.",
            s.last_closed_period_end,
        )
        yield _gauge(
            "billing_exporter_last_refresh_timestamp_seconds",
            "Unix time of the exporter's last complete refresh from PostgreSQL.",
            s.refreshed_at,
        )
        yield _gauge(
            "billing_exporter_refresh_duration_seconds",
            "How long the exporter's last refresh took (every query).",
            s.refresh_seconds,
        )
        errors = CounterMetricFamily(
            "billing_exporter_query_errors",
            "Refresh queries that failed (timeout, lock wait, connection), by query.",
            labels=["query"],
        )
        for name in self._queries:
            errors.add_metric([name], s.query_errors.get(name, 0))
        yield errors
