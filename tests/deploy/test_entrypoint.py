"""The image's entrypoint: Vault's env files are loaded, the close closes the previous month."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from tests.support.deploy import ROOT

ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"


def _run(*arguments: str, tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    path = f"{Path(sys.prefix) / 'bin'}:{inherited.get('PATH', '')}"
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *arguments],
        env={
            **inherited,
            "PATH": path,
            "BILLING_STATE_DIR": str(tmp_path / "state"),
            "BILLING_VAULT_SECRETS_DIR": str(tmp_path / "vault"),
            "BILLING_IMAGE_DBT_TARGET": str(tmp_path / "image-target"),
            "BILLING_DBT_TARGET_DIR": str(tmp_path / "target"),
            **environment,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_vault_env_files_are_loaded_before_the_command(tmp_path: Path) -> None:
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "database-loader.env").write_text(
        'export BILLING_LOADER_DATABASE_URL="postgresql://svc@db:5432/billing"\n'
    )
    (tmp_path / "vault" / "not-an-env-file").write_text("exit 9\n")
    result = _run("sh", "-c", 'echo "$BILLING_LOADER_DATABASE_URL"', tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgresql://svc@db:5432/billing"


def test_the_prepared_dbt_target_is_copied_into_an_empty_writable_target(
    tmp_path: Path,
) -> None:
    (tmp_path / "image-target" / "dagster").mkdir(parents=True)
    (tmp_path / "image-target" / "dagster" / "manifest.json").write_text("{}")
    (tmp_path / "target").mkdir()
    result = _run("true", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "target" / "dagster" / "manifest.json").read_text() == "{}"


def test_close_month_closes_the_previous_utc_month(tmp_path: Path) -> None:
    first = dt.datetime.now(dt.UTC).date().replace(day=1)
    previous = (first - dt.timedelta(days=1)).strftime("%Y-%m")
    result = _run("close-month", "--wait-seconds", "1", tmp_path=tmp_path)
    assert f"billing-entrypoint: closing {previous}" in result.stderr
    # No services here: the close is refused in one line (it got that far with that month).
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


def test_close_month_takes_billing_close_month(tmp_path: Path) -> None:
    result = _run("close-month", tmp_path=tmp_path, BILLING_CLOSE_MONTH="2999-01")
    assert "billing-entrypoint: closing 2999-01" in result.stderr
    assert result.returncode == 2
    assert "2999-01 has not ended yet" in result.stdout + result.stderr


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(tmp_path=tmp_path)
    assert result.returncode == 64
    assert "no command given" in result.stderr


def test_healthcheck_asks_health_live_on_the_health_port(tmp_path: Path) -> None:
    import http.server
    import threading

    (tmp_path / "site" / "health").mkdir(parents=True)
    (tmp_path / "site" / "health" / "live").write_text('{"live": true}\n')

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path / "site"), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = str(server.server_address[1])
        assert _run("healthcheck", tmp_path=tmp_path, BILLING_HEALTH_PORT=port).returncode == 0
        (tmp_path / "site" / "health" / "live").unlink()
        assert _run("healthcheck", tmp_path=tmp_path, BILLING_HEALTH_PORT=port).returncode != 0
    finally:
        server.shutdown()
        server.server_close()
