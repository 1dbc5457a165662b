"""What the observability tests share: the tools, the rule files, a real Prometheus server,
the processes' /metrics.

Prometheus and promtool come from Debian's package, installed into .tools/bin by
`make tools-observe` (scripts/install-prometheus.sh; `make test` runs it first). A missing
tool fails the test with that instruction: these tests never skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from billing.localservices import free_port

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
RULE_TESTS_DIR = ROOT / "deploy" / "prometheus" / "tests"
DASHBOARDS_DIR = ROOT / "deploy" / "grafana" / "dashboards"
RUNBOOKS_DIR = ROOT / "docs" / "runbooks"
LOADER_JOB = "billing-loader"
EXPORTER_JOB = "billing-exporter"
T = TypeVar("T")


def tool(name: str) -> str:
    """The path of prometheus or promtool: .tools/bin first, then PATH; fails if neither."""
    local = ROOT / ".tools" / "bin" / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed: run `make tools-observe` (Debian's prometheus package "
            "into .tools/bin; `make test` does it first)",
            pytrace=False,
        )
    return found


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def alerting_rules() -> list[dict[str, Any]]:
    """Every alerting rule of the rule files."""
    found = []
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [rule for rule in group["rules"] if "alert" in rule]
    return found


def write_test_rules(target: Path, for_seconds: int, interval_seconds: int) -> list[Path]:
    """Copies of the rule files with every `for:` and group interval shortened (the end-to-
    end test's clock), everything else as it is."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in rule_files():
        content = yaml.safe_load(path.read_text())
        for group in content["groups"]:
            group["interval"] = f"{interval_seconds}s"
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = f"{for_seconds}s"
        copy = target / path.name
        copy.write_text(yaml.safe_dump(content, sort_keys=False))
        written.append(copy)
    return written


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of a GET (an HTTP error status is returned, not raised)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def scrape(url: str) -> dict[str, set[str]]:
    """Family name -> its sample names, from a /metrics endpoint."""
    status, body = http_get(url)
    assert status == 200, body
    return {
        family.name: {sample.name for sample in family.samples}
        for family in text_string_to_metric_families(body.decode())
    }


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.25) -> T:
    """The first truthy answer of `probe` within `timeout` seconds; fails saying `what`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (OSError, urllib.error.URLError):
            last = None
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"not within {timeout:g} s: {what} (last answer: {last!r})", pytrace=False)


class Prometheus:
    """A real Prometheus server on a free loopback port."""

    def __init__(self, url: str) -> None:
        self.url = url

    def api(self, path: str, **parameters: str) -> Any:
        query = f"?{urllib.parse.urlencode(parameters)}" if parameters else ""
        status, body = http_get(f"{self.url}/api/v1/{path}{query}")
        assert status == 200, body
        answer = json.loads(body)
        assert answer["status"] == "success", answer
        return answer["data"]

    def alerts(self, name: str, state: str = "firing") -> list[dict[str, Any]]:
        return [
            alert
            for alert in self.api("alerts")["alerts"]
            if alert["labels"].get("alertname") == name and alert["state"] == state
        ]

    def targets_up(self) -> dict[str, float]:
        """job -> value of `up`."""
        return {
            result["metric"]["job"]: float(result["value"][1])
            for result in self.api("query", query="up")["result"]
        }


@contextmanager
def prometheus_server(
    workdir: Path, targets: dict[str, str], rules: list[Path], interval_seconds: int = 1
) -> Iterator[Prometheus]:
    """Prometheus scraping `targets` (job -> host:port) every interval, with `rules`."""
    port = free_port()
    config = {
        "global": {
            "scrape_interval": f"{interval_seconds}s",
            "scrape_timeout": f"{interval_seconds}s",
            "evaluation_interval": f"{interval_seconds}s",
        },
        "rule_files": [str(path) for path in rules],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [address]}]}
            for job, address in targets.items()
        ],
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            tool("prometheus"),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        wait_for(
            "Prometheus ready",
            lambda: http_get(f"{server.url}/-/ready")[0] == 200,
            timeout=30,
        )
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def metric_names(expression: str) -> set[str]:
    """The billing_ series an expression selects (functions, labels and rules aside)."""
    without_labels = re.sub(r"\{[^}]*\}", "", expression)
    return set(re.findall(r"\bbilling_[a-z0-9_]+\b", without_labels))


def dashboard_expressions() -> dict[str, list[str]]:
    """Dashboard file -> every expression of its panels."""
    found: dict[str, list[str]] = {}
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        board = json.loads(path.read_text())
        found[path.name] = [
            target["expr"]
            for panel in board["panels"]
            for target in panel.get("targets", [])
            if target.get("expr")
        ]
    return found
