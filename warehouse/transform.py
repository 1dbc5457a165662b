"""Running the dbt project: environment for profiles.yml, and dbt invocations.

The pricing and invoicing rules live in dbt_project/ (SQL); this module only runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billing.db import url_host_options
from billing.errors import BillingError
from billing.roles import Role
from billing.settings import PROJECT_ROOT, Issuer, TaxStatement

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


class DbtFailedError(BillingError):
    """A dbt command failed; the message carries the tail of its output."""


@dataclass(frozen=True)
class DbtResult:
    command: list[str]
    returncode: int
    output: str
    manifest: Any = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def tail(self) -> str:
        """The last 40 lines of the output (what a failure message shows)."""
        return "\n".join(self.output.strip().splitlines()[-40:])


def dbt_executable() -> str:
    """The dbt of this virtual environment (also when it is not activated)."""
    candidate = Path(sys.prefix) / "bin" / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def dbt_environment(
    database_url: str, *, target_path: Path | None = None, project_dir: Path = DBT_PROJECT_DIR
) -> dict[str, str]:
    """Environment variables that profiles.yml reads, from a database URL."""
    options = url_host_options(database_url)
    environment = {
        "BILLING_DBT_HOST": options["host"],
        "BILLING_DBT_PORT": options["port"],
        "BILLING_DBT_USER": options["user"],
        "BILLING_DBT_PASSWORD": options["password"],
        "BILLING_DBT_DBNAME": options["dbname"],
        "BILLING_DBT_ROLE": Role.TRANSFORMER,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(project_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if target_path is not None:
        environment["DBT_TARGET_PATH"] = str(target_path)
        environment["DBT_LOG_PATH"] = str(target_path / "logs")
    return environment


def period_vars(period: str | None, extra: Mapping[str, Any] | None = None) -> list[str]:
    """The --vars argument for a billing period 'YYYY-MM' (and any `extra` vars)."""
    values = ({"period": period} if period else {}) | dict(extra or {})
    return ["--vars", json.dumps(values)] if values else []


def issue_arguments(issuer: Issuer, tax: TaxStatement) -> list[str]:
    """The --args of `dbt run-operation issue_invoices`: what each issued invoice stores of
    its issuer and tax statement (the snapshot its documents print)."""
    arguments = {
        "issuer": {
            "name": issuer.name,
            "address": issuer.address,
            "vat_id": issuer.vat_id,
            "email": issuer.email,
        },
        "tax": {"statement": tax.statement, "reason": tax.reason},
    }
    return ["--args", json.dumps(arguments)]


def _checked(result: DbtResult, arguments: list[str], check: bool) -> DbtResult:
    if check and not result.ok:
        raise DbtFailedError(f"dbt {' '.join(arguments)} failed:\n{result.tail}")
    return result


def run_dbt(
    arguments: list[str],
    database_url: str,
    *,
    period: str | None = None,
    target_path: Path | None = None,
    check: bool = True,
    variables: Mapping[str, Any] | None = None,
    project_dir: Path = DBT_PROJECT_DIR,
) -> DbtResult:
    """Run one dbt command as a subprocess against `database_url` (in `project_dir`: a copy
    of the project with other seeds, for a what-if run; `variables`: more --vars)."""
    command = [dbt_executable(), *arguments, *period_vars(period, variables)]
    environment = {
        **os.environ,
        **dbt_environment(database_url, target_path=target_path, project_dir=project_dir),
    }
    completed = subprocess.run(
        command,
        cwd=project_dir,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    result = DbtResult(command, completed.returncode, completed.stdout + completed.stderr)
    return _checked(result, arguments, check)


def run_dbt_in_process(
    arguments: list[str],
    database_url: str,
    *,
    period: str | None = None,
    target_path: Path | None = None,
    check: bool = True,
    manifest: Any = None,
) -> DbtResult:
    """Run one dbt command in this process (dbtRunner): no interpreter start-up per command.

    It sets the profile's environment variables in os.environ, so one process must not run
    two of these at once; the test suite uses it, one test at a time per worker. `manifest`
    (a dbt Manifest from an earlier `parse` against the same database) skips parsing: dbt's
    partial parse starts over whenever --vars change, as they do from period to period.
    The result of `parse` carries the Manifest in `DbtResult.manifest`.
    """
    from dbt.cli.main import dbtRunner  # heavy import, only when used

    os.environ.update(dbt_environment(database_url, target_path=target_path))
    messages: list[str] = []

    def collect(event: Any) -> None:
        if event.info.level in ("info", "warn", "error") and event.info.msg:
            messages.append(str(event.info.msg))

    command = [*arguments, *period_vars(period), "--project-dir", str(DBT_PROJECT_DIR)]
    outcome = dbtRunner(manifest=manifest, callbacks=[collect]).invoke(command)
    if outcome.exception is not None:
        messages.append(f"{type(outcome.exception).__name__}: {outcome.exception}")
    parsed = outcome.result if arguments[:1] == ["parse"] else None
    result = DbtResult(
        ["dbt", *command], 0 if outcome.success else 1, "\n".join(messages), manifest=parsed
    )
    return _checked(result, arguments, check)
