"""Vault policies: each component reads its own database credentials (and the close the
document store's path) and nothing else; the pods ask Vault for exactly those paths."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.support.deploy import DEPLOY, helm_template, load_hcl, pod_annotations, workloads

POLICIES = DEPLOY / "vault" / "policies"
DOCUMENTS = "secret/data/billing/documents"
EXPECTED = {
    "billing-loader": {"database/static-creds/billing-loader"},
    "billing-exporter": {"database/static-creds/billing-auditor"},
    "billing-close": {
        "database/static-creds/billing-transformer",
        "database/static-creds/billing-renderer",
        "database/static-creds/billing-auditor",
        DOCUMENTS,
    },
    "billing-dagster": {
        "database/static-creds/billing-transformer",
        "database/static-creds/billing-renderer",
        "database/static-creds/billing-auditor",
        DOCUMENTS,
    },
}


def policy(path: Path) -> dict[str, list[str]]:
    """{path: capabilities} of one policy file."""
    parsed = load_hcl(path)
    assert set(parsed) == {"path"}, f"{path.name}: only path blocks"
    paths: dict[str, list[str]] = {}
    for block in parsed["path"]:
        for name, body in block.items():
            paths[name] = body["capabilities"]
    return paths


def _asked(annotations: dict[str, str]) -> set[str]:
    return {
        value
        for key, value in annotations.items()
        if key.startswith("vault.hashicorp.com/agent-inject-secret-")
    }


def test_each_policy_grants_read_on_its_own_paths_only() -> None:
    found = {path.stem: policy(path) for path in POLICIES.glob("*.hcl")}
    assert set(found) == set(EXPECTED)
    for name, paths in found.items():
        assert set(paths) == EXPECTED[name], name
        for path, capabilities in paths.items():
            assert capabilities == ["read"], f"{name}: {path}"
            assert "*" not in path, f"{name}: {path} is a glob"
            assert "+" not in path, f"{name}: {path} is a glob"


def test_no_policy_reaches_another_components_login() -> None:
    for path in POLICIES.glob("*.hcl"):
        logins = {p for p in policy(path) if p.startswith("database/")}
        if path.stem == "billing-loader":
            assert logins == {"database/static-creds/billing-loader"}
        else:
            assert "database/static-creds/billing-loader" not in logins
        assert not any("finance" in p for p in logins)  # people's logins are not services'


def test_every_pod_asks_for_exactly_its_roles_policy_paths() -> None:
    manifests = helm_template("values-production.yaml")
    seen = set()
    for workload in workloads(manifests):
        annotations = pod_annotations(workload)
        role = annotations["vault.hashicorp.com/role"]
        assert _asked(annotations) == set(policy(POLICIES / f"{role}.hcl")), role
        seen.add(role)
    values = yaml.safe_load((DEPLOY / "helm" / "dagster" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    role = deployment["annotations"]["vault.hashicorp.com/role"]
    assert _asked(deployment["annotations"]) == set(policy(POLICIES / f"{role}.hcl"))
    seen.add(role)
    assert seen == set(EXPECTED)
