"""The dbt project as Finance reads it: a sample month builds clean and is fully documented."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from pathlib import Path

import orjson
import psycopg

from billing.settings import PROJECT_ROOT
from finance.reference import import_accounts, import_tiers
from producers.sample import sample_events
from tests.support.billing_data import Event, land_events
from tests.support.dbt import DbtProject


def sample_month(month: date, events: int, tenants: int) -> list[Event]:
    landed = []
    for payload in sample_events(month, events, tenants):
        event = orjson.loads(payload)
        landed.append(
            Event(
                uuid.UUID(event["tenant_id"]),
                datetime.fromisoformat(event["occurred_at"]),
                event["operator_id"],
                event["direction"],
                event["segments"],
                uuid.UUID(event["event_id"]),
                event["message_id"],
            )
        )
    return landed


def test_the_sample_month_builds_clean_and_every_model_column_is_documented(
    database_url: str, dbt_project: DbtProject, dbt_target_path: Path
) -> None:
    with psycopg.connect(database_url) as conn:
        import_accounts(conn, PROJECT_ROOT / "samples" / "accounts.csv")
        import_tiers(conn, PROJECT_ROOT / "samples" / "account_tiers.csv")
        land_events(conn, sample_month(date(2026, 10, 1), 3_000, 50))
    # Seeds, models, every data test and unit test pass on the sample month.
    dbt_project.build("2026-10")
    dbt_project.issue("2026-10")
    with psycopg.connect(database_url) as conn:
        invoices = conn.execute("select count(*) from billing.invoices").fetchone()
    assert invoices == (50,)

    dbt_project.run("docs", "generate", period="2026-10")
    manifest = json.loads((dbt_target_path / "manifest.json").read_text())
    catalog = json.loads((dbt_target_path / "catalog.json").read_text())
    models = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed")
    }
    undocumented_models = sorted(
        node["name"] for node in models.values() if not node["description"]
    )
    assert undocumented_models == []
    undocumented_columns = []
    for unique_id, node in models.items():
        described = {name for name, column in node["columns"].items() if column["description"]}
        for column in catalog["nodes"][unique_id]["columns"]:
            if column not in described:
                undocumented_columns.append(f"{node['name']}.{column}")
    assert undocumented_columns == []
    # Only staging models read the sources (jaffle-shop's rule): every other model reads refs.
    reading_sources = sorted(
        node["name"]
        for node in models.values()
        if node["resource_type"] == "model"
        and node["fqn"][1] != "staging"
        and any(parent.startswith("source.") for parent in node["depends_on"]["nodes"])
    )
    assert reading_sources == []


def test_a_priced_operator_without_a_display_name_fails_the_catalogue_tests(
    database_url: str, dbt_project: DbtProject
) -> None:
    """Every operator with a price has a name for the customer's invoice (operators seed)."""
    passed = dbt_project.run("test", "--select", "pricing_rules", check=False)
    assert passed.ok, passed.output
    with psycopg.connect(database_url) as conn:
        conn.execute("delete from catalogue.operators where operator_id = 'sfr_fr'")
    failed = dbt_project.run("test", "--select", "pricing_rules", check=False)
    assert not failed.ok
    assert "relationships_pricing_rules_operator_id" in failed.output
