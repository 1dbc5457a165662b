"""End to end: a real Prometheus scrapes a real loader and `billing exporter` on loopback with
the project's rule files, and its HTTP API shows the alerts fire and resolve.

The rules are copies of deploy/prometheus/rules/*.yml with every `for:` shortened to 2 s and
every group evaluated each second (write_test_rules); expressions and labels are the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.observability.processes import loader_and_exporter
from tests.support.dbt import DbtProject
from tests.support.ingest import payload, publish, scalar
from tests.support.observability import (
    EXPORTER_JOB,
    LOADER_JOB,
    http_get,
    prometheus_server,
    wait_for,
    write_test_rules,
)

FOR_SECONDS = 2
UNPRICED = 7


@pytest.mark.timeout(300)
def test_loader_down_fires_and_resolves_and_unpriced_events_fire(
    database_url: str, nats_url: str, dbt_target_path: Path, tmp_path: Path
) -> None:
    rules = write_test_rules(tmp_path / "rules", for_seconds=FOR_SECONDS, interval_seconds=1)
    with (
        loader_and_exporter(database_url, nats_url, tmp_path) as (loader, exporter),
        prometheus_server(
            tmp_path, {LOADER_JOB: loader.address, EXPORTER_JOB: exporter.address}, rules
        ) as prometheus,
    ):
        wait_for(
            "both targets up in Prometheus",
            lambda: prometheus.targets_up() == {LOADER_JOB: 1.0, EXPORTER_JOB: 1.0},
            timeout=30,
        )
        # Before the first scrape `absent(up)` holds, so on a slow machine the alert may be
        # pending or firing for a moment: with the loader up it must settle to silent.
        wait_for(
            "BillingLoaderDown silent while the loader is up",
            lambda: (
                prometheus.alerts("BillingLoaderDown") == []
                and prometheus.alerts("BillingLoaderDown", state="pending") == []
            ),
            timeout=30,
        )

        # The loader stops: Prometheus cannot scrape it, the alert fires after `for:`.
        assert loader.stop() == 0
        [down] = wait_for(
            "BillingLoaderDown firing", lambda: prometheus.alerts("BillingLoaderDown"), 30
        )
        assert down["labels"]["severity"] == "critical"
        assert down["labels"]["instance"] == loader.address
        assert down["annotations"]["runbook_url"] == "docs/runbooks/BillingLoaderDown.md"

        # Started again, it is scraped again and the alert resolves.
        loader.start()
        wait_for(
            "BillingLoaderDown resolved",
            lambda: (
                prometheus.alerts("BillingLoaderDown") == []
                and prometheus.alerts("BillingLoaderDown", state="pending") == []
            ),
            timeout=30,
        )

        # Events of a tenant without an account land, the models price them: unpriced.
        assert prometheus.alerts("BillingUnpricedEvents") == []
        report = publish(nats_url, [payload() for _ in range(UNPRICED)])
        assert report.stored == UNPRICED
        wait_for(
            "the loader landed the events",
            lambda: scalar(database_url, "select count(*) from raw.message_charged") == UNPRICED,
            timeout=30,
        )
        DbtProject(database_url, dbt_target_path).run(
            "run", "--select", "+unpriced_charges", period="2026-10"
        )
        wait_for(
            "the exporter reads the unpriced events",
            lambda: (
                f"billing_unpriced_events {UNPRICED}.0"
                in http_get(f"{exporter.url}/metrics")[1].decode()
            ),
            timeout=30,
        )
        [unpriced] = wait_for(
            "BillingUnpricedEvents firing", lambda: prometheus.alerts("BillingUnpricedEvents"), 30
        )
        assert unpriced["labels"]["severity"] == "warning"
        assert float(unpriced["value"]) == UNPRICED
        assert unpriced["annotations"]["runbook_url"] == "docs/runbooks/BillingUnpricedEvents.md"
