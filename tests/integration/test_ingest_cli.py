"""The ingestion commands end to end, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import billing_cli.ingest
import billing_cli.reference
from billing.errors import ImportRefusedError
from billing_cli.app import app
from producers.sample import parse_month, sample_events
from tests.support.ingest import scalar


@pytest.fixture
def env(database_url: str, nats_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "BILLING_DATABASE_URL": database_url,
        "BILLING_NATS_URL": nats_url,
        "BILLING_STATE_DIR": str(tmp_path / "state"),
    }


def test_reference_publish_and_load_commands(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("sample", "reference", "--out", str(tmp_path), "--tenants", "12", "--month", "2026-10")
    assert "12 inserted" in run("accounts", "import", str(tmp_path / "accounts.csv"))
    assert "13 inserted" in run("tiers", "import", str(tmp_path / "account_tiers.csv"))
    assert "12 unchanged" in run("accounts", "import", str(tmp_path / "accounts.csv"))

    events = list(sample_events(parse_month("2026-10"), 5, 12, duplicate_rate=0))
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_bytes(b"\n".join([*events, events[0], b"", b"not json"]) + b"\n")
    output = run("publish", str(jsonl))
    assert "│ published                          │ 7" in output
    assert "│ duplicates (dropped by the server) │ 1" in output
    assert "│ without Nats-Msg-Id (no event_id)  │ 1" in output

    output = run("load", "--until-idle", "--metrics-port", "0", "--idle-seconds", "0.3")
    assert "│ loaded             │ 5" in output
    assert "│ rejected           │ 1" in output

    run("publish-sample", "--month", "2026-10", "--events", "300", "--tenants", "12")
    run("load", "--until-idle", "--metrics-port", "0", "--idle-seconds", "0.3")
    landed = scalar(database_url, "select count(*) from raw.message_charged")
    assert 5 + 290 <= landed <= 5 + 300  # a few sample duplicates are dropped by the server
    unknown = scalar(
        database_url,
        "select count(*) from raw.message_charged where tenant_id not in "
        "(select tenant_id from ref.accounts)",
    )
    assert unknown == 0  # sample events belong to the sample accounts


def test_a_refused_import_exits_with_the_reason(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "accounts.csv"
    bad.write_text("tenant_id,name\nx,y\n")
    result = CliRunner().invoke(app, ["accounts", "import", str(bad)], env=env)
    assert isinstance(result.exception, ImportRefusedError)
    assert "missing currency" in str(result.exception)
    assert billing_cli.ingest.DEFAULT_METRICS_PORT == 9464
