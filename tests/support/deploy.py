"""Helpers of the deployment tests: the tools `make tools-deploy` installs, the chart rendered.

A missing tool fails the test with what to run; it never skips (make test installs them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = ROOT / ".tools" / "bin"
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "billing"
RULES_SOURCE = DEPLOY / "prometheus" / "rules"
RULES_COPY = CHART / "files" / "prometheus"
# The Kubernetes version the manifests are validated for (the chart's kubeVersion floor).
KUBERNETES_VERSION = "1.30.0"
RELEASE = "billing"
NAMESPACE = "billing"


def tool(name: str) -> str:
    """Path of a deployment tool: .tools/bin (make tools-deploy), the venv, then PATH."""
    for folder in (TOOLS_BIN, Path(sys.prefix) / "bin"):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make tools-deploy` (it puts it in .tools/bin)")
    return found


def run(command: Sequence[str], *, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run a tool; its output is kept for the assertion message."""
    return subprocess.run(
        list(command), cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


def helm_template(
    *values_files: str, chart: Path = CHART, set_values: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """`helm template` of the chart with values files (names in the chart folder)."""
    command = [tool("helm"), "template", RELEASE, str(chart), "--namespace", NAMESPACE]
    command += ["--kube-version", KUBERNETES_VERSION]
    for name in values_files:
        command += ["--values", str(chart / name)]
    for assignment in set_values:
        command += ["--set", assignment]
    result = run(command)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def by_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [manifest for manifest in manifests if manifest["kind"] == kind]


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    """The pod template's spec of a Deployment, Job or CronJob."""
    if manifest["kind"] == "CronJob":
        spec: dict[str, Any] = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    template_spec: dict[str, Any] = manifest["spec"]["template"]["spec"]
    return template_spec


def pod_annotations(manifest: dict[str, Any]) -> dict[str, str]:
    if manifest["kind"] == "CronJob":
        template = manifest["spec"]["jobTemplate"]["spec"]["template"]
    else:
        template = manifest["spec"]["template"]
    annotations: dict[str, str] = template["metadata"].get("annotations") or {}
    return annotations


def workloads(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] in ("Deployment", "CronJob", "Job")]


def _plain(value: Any) -> Any:
    """python-hcl2's output without its markers: quotes kept on strings, __is_block__ and
    __comments__ entries."""
    if isinstance(value, str):
        quoted = len(value) >= 2 and value[0] == value[-1] == '"'
        return value[1:-1] if quoted else value
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if not str(k).startswith("__")}
    return value


def load_hcl(path: Path) -> dict[str, Any]:
    """An HCL file (Terraform, Vault policy) parsed with python-hcl2, as plain data."""
    import hcl2

    with path.open() as handle:
        parsed: dict[str, Any] = _plain(hcl2.load(handle))
    return parsed
