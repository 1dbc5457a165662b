"""The Prometheus rule files are valid, and promtool's unit tests prove every alert fires when
it should and stays silent when it should not, with production `for:` durations."""

from __future__ import annotations

import subprocess

import yaml

from tests.support.observability import RULE_TESTS_DIR, alerting_rules, rule_files, tool

SPEC_ALERTS = {
    "BillingLoaderDown",
    "BillingConsumerLagHigh",
    "BillingRejectRateHigh",
    "BillingLoaderStalled",
    "BillingUnpricedEvents",
    "BillingInvoiceRunFailed",
    "BillingNegativeMargin",
}


def test_the_rule_files_are_valid() -> None:
    done = subprocess.run(
        [tool("promtool"), "check", "rules", *map(str, rule_files())],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_of_spec_section_6_has_severity_summary_description_and_runbook() -> None:
    rules = alerting_rules()
    assert {rule["alert"] for rule in rules} >= SPEC_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in ("critical", "warning"), rule
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}, rule
        assert rule["annotations"]["runbook_url"] == f"docs/runbooks/{rule['alert']}.md"


def test_promtool_unit_tests_pass_and_cover_every_alert_firing_and_silent() -> None:
    tests = sorted(RULE_TESTS_DIR.glob("*.yml"))
    fired: set[str] = set()
    silent: set[str] = set()
    for path in tests:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check["exp_alerts"] else silent).add(check["alertname"])
    every = {rule["alert"] for rule in alerting_rules()}
    assert fired == every
    assert silent == every

    done = subprocess.run(
        [tool("promtool"), "test", "rules", *map(str, tests)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(tests), done.stdout


def test_the_unit_tests_use_the_production_for_durations() -> None:
    # promtool reads the rule files themselves: a test cannot shorten `for:`.
    for path in sorted(RULE_TESTS_DIR.glob("*.yml")):
        listed = yaml.safe_load(path.read_text())["rule_files"]
        resolved = {(path.parent / name).resolve() for name in listed}
        assert resolved == {rule.resolve() for rule in rule_files()}
