"""The ingestion commands end to end, as an operator runs them (the real `billing` command)."""

from __future__ import annotations

from pathlib import Path

import pytest

from billing.periods import Period
from producers.sample import sample_events
from tests.support.cli import billing, one_line
from tests.support.ingest import scalar


@pytest.fixture
def env(database_url: str, nats_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "BILLING_DATABASE_URL": database_url,
        "BILLING_NATS_URL": nats_url,
        "BILLING_STATE_DIR": str(tmp_path / "state"),
    }


def _row(output: str, label: str) -> str:
    """The value of row `label` of a two-column report table."""
    [line] = [line for line in output.splitlines() if line.strip().startswith(label)]
    return line.split()[-1]


def test_reference_publish_and_load_commands(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    def run(*args: str) -> str:
        done = billing(*args, **env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run("sample", "reference", "--out", str(tmp_path), "--tenants", "12", "--month", "2026-10")
    assert "12 inserted" in run("accounts", "import", str(tmp_path / "accounts.csv"))
    assert "13 inserted" in run("tiers", "import", str(tmp_path / "account_tiers.csv"))
    assert "12 unchanged" in run("accounts", "import", str(tmp_path / "accounts.csv"))

    events = list(sample_events(Period(2026, 10).start, 5, 12, duplicate_rate=0))
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_bytes(b"\n".join([*events, events[0], b"", b"not json"]) + b"\n")
    output = run("events", "publish", str(jsonl))
    assert _row(output, "published") == "7"
    assert _row(output, "duplicates (dropped by the server)") == "1"
    assert _row(output, "without Nats-Msg-Id (no event_id)") == "1"

    output = run("events", "load", "--until-idle", "--metrics-port", "0", "--idle-seconds", "0.3")
    assert _row(output, "loaded") == "5"
    assert _row(output, "rejected") == "1"

    run("events", "publish-sample", "--month", "2026-10", "--events", "300", "--tenants", "12")
    run("events", "load", "--until-idle", "--metrics-port", "0", "--idle-seconds", "0.3")
    landed = scalar(database_url, "select count(*) from raw.message_charged")
    assert 5 + 290 <= landed <= 5 + 300  # a few sample duplicates are dropped by the server
    unknown = scalar(
        database_url,
        "select count(*) from raw.message_charged where tenant_id not in "
        "(select tenant_id from ref.accounts)",
    )
    assert unknown == 0  # sample events belong to the sample accounts


def test_a_refused_import_exits_2_with_the_reason(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "accounts.csv"
    bad.write_text("tenant_id,name\nx,y\n")
    done = billing("accounts", "import", str(bad), **env)
    assert done.returncode == 2
    assert "missing currency" in one_line(done.stderr)


def test_the_old_spellings_still_work_with_a_note(env: dict[str, str]) -> None:
    done = billing("migrate", **env)
    assert done.returncode == 0, done.stderr
    assert "migrations  up to date" in done.stdout
    assert one_line(done.stderr) == (
        "note: `billing migrate` is deprecated and goes away in the next release; "
        "use `billing db migrate`"
    )
