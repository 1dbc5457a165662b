"""The chart's PrometheusRule comes from deploy/prometheus/rules/*.yml: one source of truth.

`make helm-sync` copies the rule files into the chart (helm reads nothing outside it); these
tests check that the copy equals the source and that the rendered groups are the files' groups.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support.deploy import (
    CHART,
    ROOT,
    RULES_COPY,
    RULES_SOURCE,
    by_kind,
    helm_template,
)

SAMPLE_RULES = """\
groups:
  - name: sample-alerts
    rules:
      - alert: SampleDown
        expr: up{job="billing-loader"} == 0
        for: 2m
        labels:
          severity: page
        annotations:
          summary: "Loader {{ $labels.instance }} is down"
          runbook_url: https://example.invalid/docs/runbooks/SampleDown.md
  - name: sample-recording
    interval: 30s
    rules:
      - record: billing:sample:rate5m
        expr: sum(rate(billing_sample_total[5m]))
"""


def _groups(folder: Path) -> list[Any]:
    groups: list[Any] = []
    for path in sorted(folder.glob("*.yml")):
        groups += yaml.safe_load(path.read_text()).get("groups") or []
    return groups


def _rendered_groups(chart: Path) -> list[Any] | None:
    rules = by_kind(helm_template(chart=chart), "PrometheusRule")
    if not rules:
        return None
    (rule,) = rules
    groups: list[Any] = rule["spec"]["groups"]
    return groups


def test_the_chart_copy_equals_the_rule_files() -> None:
    source = {path.name: path.read_bytes() for path in RULES_SOURCE.glob("*.yml")}
    copy = {path.name: path.read_bytes() for path in RULES_COPY.glob("*.yml")}
    assert copy == source, (
        "deploy/helm/billing/files/prometheus differs from deploy/prometheus/rules: "
        "run `make helm-sync` and commit the copy"
    )


def test_the_rendered_prometheus_rule_has_the_rule_files_groups() -> None:
    expected = _groups(RULES_SOURCE)
    rendered = _rendered_groups(CHART)
    if expected:
        assert rendered == expected
    else:  # no rule file yet: no empty PrometheusRule either
        assert rendered is None


def test_helm_sync_copies_rule_files_and_the_template_renders_their_groups(
    tmp_path: Path,
) -> None:
    # A temporary copy of the repository's deploy folder with a small rule file of its own.
    repository = tmp_path / "repository"
    shutil.copytree(CHART, repository / "deploy" / "helm" / "billing")
    shutil.copy(ROOT / "Makefile", repository / "Makefile")
    rules = repository / "deploy" / "prometheus" / "rules"
    rules.mkdir(parents=True)
    (rules / "sample.yml").write_text(SAMPLE_RULES)
    stale = repository / "deploy" / "helm" / "billing" / "files" / "prometheus" / "gone.yml"
    stale.write_text("groups: []\n")
    result = subprocess.run(
        ["make", "--no-print-directory", "helm-sync"],
        cwd=repository,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    chart = repository / "deploy" / "helm" / "billing"
    copied = sorted(path.name for path in (chart / "files" / "prometheus").glob("*.yml"))
    assert copied == ["sample.yml"]  # a rule file removed at the source goes from the chart
    rendered = _rendered_groups(chart)
    assert rendered == yaml.safe_load(SAMPLE_RULES)["groups"]
    assert rendered[0]["rules"][0]["annotations"]["summary"] == (
        "Loader {{ $labels.instance }} is down"
    )
