"""Every metric a dashboard panel queries is one the running loader and exporter export, and
every billing_ family they export appears on some panel (scraped, never read from source)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.observability.processes import loader_and_exporter
from tests.support.forge import forged_history
from tests.support.observability import DASHBOARDS_DIR, dashboard_expressions, metric_names, scrape


def record_close_run(database_url: str) -> None:
    """A finished close run and its period close, so that the close families have samples."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "insert into billing.close_runs (run_id, period, outcome, trigger, started_at,"
            " finished_at) values ('run-1', '2026-10', 'succeeded', 'cli',"
            " now() - interval '90 seconds', now())"
        )
        with forged_history(conn):  # as the issue step would have
            conn.execute(
                "insert into billing.period_closes (period, kind, closed_at, invoice_count,"
                " event_count) values ('2026-10', 'close', now(), 0, 0)"
            )


def test_the_dashboards_query_what_the_processes_export_and_show_all_of_it(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    record_close_run(database_url)
    with loader_and_exporter(database_url, nats_url, tmp_path) as (loader, exporter):
        exported = {**scrape(f"{loader.url}/metrics"), **scrape(f"{exporter.url}/metrics")}
    families = {name: samples for name, samples in exported.items() if name.startswith("billing_")}
    samples = set().union(*families.values())

    boards = dashboard_expressions()
    assert set(boards) == {"billing-overview.json", "nats-consumer-lag.json"}
    queried: dict[str, set[str]] = {}
    for board, expressions in boards.items():
        for expression in expressions:
            for name in metric_names(expression):
                queried.setdefault(name, set()).add(board)

    unknown = sorted(set(queried) - samples)
    assert unknown == [], f"panels query series no process exports: {unknown}"
    unseen = sorted(name for name, names in families.items() if not names & set(queried))
    assert unseen == [], f"exported families on no panel: {unseen}"
    # The SPEC section 6 families are there, from the loader and from the exporter.
    assert {
        "billing_events_received",
        "billing_consumer_lag",
        "billing_loader_publish_to_commit_seconds",
        "billing_unpriced_events",
        "billing_excluded_events",
        "billing_negative_margin_charges",
        "billing_invoices_issued",
        "billing_close_last_run_status",
        "billing_close_last_run_duration_seconds",
        "billing_outbox_backlog",
    } <= set(families)


def test_the_dashboards_are_in_grafana_provisioning_format() -> None:
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        board = json.loads(path.read_text())
        assert board["uid"]
        assert board["title"]
        assert board["schemaVersion"] >= 36
        assert "id" not in board  # provisioned dashboards carry no database id
        for panel in board["panels"]:
            assert panel["type"] in ("row", "timeseries", "stat"), panel["title"]
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    provider = DASHBOARDS_DIR.parent / "provisioning" / "dashboards" / "billing.yml"
    assert "type: file" in provider.read_text()
