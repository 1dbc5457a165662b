"""warehouse.transform runs dbt: in process (the tests' way) and as a subprocess (the close's).

Measured with coverage on (tests/support/dbt.py pauses coverage around dbt for speed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.transform import (
    DbtFailedError,
    dbt_environment,
    period_vars,
    run_dbt,
    run_dbt_in_process,
)


def test_in_process_runs_and_reports_dbt_output(database_url: str, dbt_target_path: Path) -> None:
    listed = run_dbt_in_process(
        ["ls", "--resource-type", "seed"], database_url, target_path=dbt_target_path
    )
    assert listed.ok
    assert "pricing_rules" in listed.output
    assert listed.command[:2] == ["dbt", "ls"]


def test_a_failing_command_raises_with_the_tail_of_its_output(
    database_url: str, dbt_target_path: Path
) -> None:
    with pytest.raises(DbtFailedError, match="dbt run-operation no_such_macro failed"):
        run_dbt_in_process(
            ["run-operation", "no_such_macro"], database_url, target_path=dbt_target_path
        )
    unchecked = run_dbt_in_process(
        ["run-operation", "no_such_macro"],
        database_url,
        target_path=dbt_target_path,
        check=False,
    )
    assert not unchecked.ok
    assert "no_such_macro" in unchecked.output


def test_as_a_subprocess_with_the_period(database_url: str, tmp_path: Path) -> None:
    done = run_dbt(
        ["ls", "--resource-type", "seed"],
        database_url,
        period="2026-10",
        target_path=tmp_path / "target",
    )
    assert done.ok, done.output
    assert done.command[-2:] == ["--vars", '{"period": "2026-10"}']
    assert "tier_fees" in done.output
    with pytest.raises(DbtFailedError):
        run_dbt(["run-operation", "no_such_macro"], database_url, target_path=tmp_path / "t2")


def test_the_profile_environment_comes_from_the_url(tmp_path: Path) -> None:
    environment = dbt_environment(
        "postgresql://finance:secret@db.internal:6432/billing", target_path=tmp_path
    )
    assert {
        key: environment[key]
        for key in (
            "BILLING_DBT_HOST",
            "BILLING_DBT_PORT",
            "BILLING_DBT_USER",
            "BILLING_DBT_PASSWORD",
            "BILLING_DBT_DBNAME",
            "BILLING_DBT_ROLE",
        )
    } == {
        "BILLING_DBT_HOST": "db.internal",
        "BILLING_DBT_PORT": "6432",
        "BILLING_DBT_USER": "finance",
        "BILLING_DBT_PASSWORD": "secret",
        "BILLING_DBT_DBNAME": "billing",
        "BILLING_DBT_ROLE": "billing_transformer",
    }
    assert environment["DBT_TARGET_PATH"] == str(tmp_path)
    assert period_vars(None) == []
