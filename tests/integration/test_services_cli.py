"""`billing services up | status | down` and `billing db migrate` on a state folder of their own.

Starts a second embedded PostgreSQL and nats-server (a few seconds), as `make demo` does.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import billing


def test_up_status_migrate_down(tmp_path: Path) -> None:
    env = {"BILLING_STATE_DIR": str(tmp_path / "state")}
    try:
        up = billing("services", "up", timeout=180, **env)
        assert up.returncode == 0, up.stderr
        lines = up.stdout.splitlines()
        assert lines[0].startswith("PostgreSQL  postgresql://")
        assert lines[1].startswith("NATS        nats://127.0.0.1:")
        assert lines[2].startswith("migrations  0001_schemas_and_roles, 0002_raw")

        status = billing("services", "status", **env)
        assert status.returncode == 0
        assert "postgres   running at postgresql://" in status.stdout
        assert "nats       running at nats://127.0.0.1:" in status.stdout

        again = billing("db", "migrate", **env)  # the embedded server, found from the state
        assert again.stdout.strip() == "migrations  up to date"
        listed = billing("invoices", "list", **env)
        assert listed.stdout.strip() == "no issued invoices"
    finally:
        down = billing("services", "down", timeout=120, **env)
    assert down.returncode == 0, down.stderr
    assert down.stdout.strip() == "embedded PostgreSQL and NATS stopped"
    assert billing("services", "down", **env).stdout.strip() == "no embedded services were running"
    stopped = billing("services", "status", **env)
    assert "postgres   not started" in stopped.stdout


def test_up_with_both_urls_uses_those_servers(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    up = billing(
        "services",
        "up",
        BILLING_DATABASE_URL=database_url,
        BILLING_NATS_URL=nats_url,
        BILLING_STATE_DIR=str(tmp_path),
    )
    assert up.returncode == 0, up.stderr
    assert up.stdout.splitlines() == [
        "BILLING_DATABASE_URL and BILLING_NATS_URL are set: using those servers.",
        "migrations  up to date",
    ]
    assert not (tmp_path / "services.json").exists()  # nothing embedded was started
