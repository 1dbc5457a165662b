"""Great Expectations suites as asset checks: a suite's outcome as a check result.

Each domain declares its suites beside the assets they check (raw/checks.py, dbt/checks.py,
close/checks.py); all of them are blocking: a failed suite stops everything downstream of its
asset in the same run.
"""

import dagster as dg

from billing.roles import Role
from expectations.runner import SuiteOutcome, run_suite
from expectations.suites import Suite
from orchestration.defs.resources import BillingResource


def check_result(outcome: SuiteOutcome) -> dg.AssetCheckResult:
    """The suite's outcome as a check result: every expectation in a table, failures first."""
    failed = [failure.describe() for failure in outcome.failures]
    return dg.AssetCheckResult(
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{outcome.description}: all {len(outcome.outcomes)} expectations met"
            if outcome.success
            else f"{len(failed)} expectation(s) failed: " + "; ".join(failed)
        ),
        metadata={
            "suite": dg.MetadataValue.text(outcome.suite),
            "expectations": dg.MetadataValue.int(len(outcome.outcomes)),
            "failed": dg.MetadataValue.int(len(failed)),
            "results": dg.MetadataValue.md(outcome.markdown()),
            "seconds": dg.MetadataValue.float(round(outcome.seconds, 2)),
        },
    )


def suite_check(billing: BillingResource, suite: Suite) -> dg.AssetCheckResult:
    """Run `suite` as billing_auditor (read-only) and report it as a check result."""
    url, role = billing.role_url(Role.AUDITOR)
    return check_result(run_suite(suite, url, role))
