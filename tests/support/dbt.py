"""A dbt runner bound to one test database: seed, build, issue, as the close does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billing.settings import Issuer, TaxStatement
from orchestration.defs.dbt.project import project_fingerprint
from warehouse.transform import DBT_PROJECT_DIR, DbtResult, issue_arguments, run_dbt_in_process


@contextmanager
def untraced() -> Iterator[None]:
    """Coverage paused while dbt runs in this process.

    Coverage measures our packages only, but its tracer still sees every call dbt and Jinja
    make: a third more CPU for a dbt-heavy test file (measured, tests/integration/
    test_invoicing.py). dbt runs none of our Python, so nothing measured is lost;
    tests/integration/test_warehouse.py runs warehouse.transform itself with coverage on.
    """
    try:
        from coverage import Coverage
    except ImportError:  # pragma: no cover (coverage is a dev dependency)
        yield
        return
    current = Coverage.current()
    if current is None:
        yield
        return
    current.stop()
    try:
        yield
    finally:
        current.start()


# Parsed projects of this process, per (database URL, target folder, project fingerprint):
# a test run parses the project once per worker, not once per dbt command (dbt's own partial
# parse starts over whenever --vars change, and the period changes from test to test).
_manifests: dict[tuple[str, str, str], Any] = {}


def parsed_manifest(database_url: str, target_path: Path) -> Any:
    key = (database_url, str(target_path), project_fingerprint(DBT_PROJECT_DIR))
    if key not in _manifests:
        parsed = run_dbt_in_process(["parse"], database_url, target_path=target_path)
        _manifests[key] = parsed.manifest
    return _manifests[key]


@dataclass
class DbtProject:
    database_url: str
    target_path: Path

    def run(self, *arguments: str, period: str | None = None, check: bool = True) -> DbtResult:
        with untraced():
            return run_dbt_in_process(
                list(arguments),
                self.database_url,
                period=period,
                target_path=self.target_path,
                check=check,
                manifest=parsed_manifest(self.database_url, self.target_path),
            )

    def seed(self, period: str | None = None) -> DbtResult:
        return self.run("seed", period=period)

    def build_models(self, period: str) -> DbtResult:
        """Models only (no data tests): what most semantic tests need, fast."""
        return self.run("run", period=period)

    def build(self, period: str, *extra: str, check: bool = True) -> DbtResult:
        """Seeds, models, data tests and unit tests: the close's step (a)+(b) in dbt."""
        return self.run("build", *extra, period=period, check=check)

    def issue(
        self,
        period: str,
        check: bool = True,
        issuer: Issuer | None = None,
        tax: TaxStatement | None = None,
    ) -> DbtResult:
        """The close's step (c): one transaction (macro issue_invoices), with the default
        issuer and tax statement of the settings unless given."""
        return self.run(
            "run-operation",
            "issue_invoices",
            *issue_arguments(issuer or Issuer(), tax or TaxStatement()),
            period=period,
            check=check,
        )

    def close(self, period: str) -> None:
        """Models then issue, without the data tests (those are covered by their own tests)."""
        self.build_models(period)
        self.issue(period)
