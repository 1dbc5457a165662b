"""The billing chart: lint, render for default, canary and production values, validate every
manifest for the target Kubernetes version, and check what a review would check."""

from __future__ import annotations

import importlib
import re
from typing import Any

import dagster as dg
import kubernetes_validate
import pytest
import yaml

from tests.support.cli import billing
from tests.support.deploy import (
    CHART,
    KUBERNETES_VERSION,
    RULES_SOURCE,
    by_kind,
    helm_template,
    pod_annotations,
    pod_spec,
    run,
    tool,
    workloads,
)

VALUES = {
    "default": (),
    "production": ("values-production.yaml",),
    "canary": ("values-production.yaml", "values-canary.yaml"),
}
# The custom resources of the Prometheus operator: their schemas are not shipped with
# kubernetes-validate, so they are checked for shape below instead.
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}
# A secret-looking value: a URL with a password, a key, a token.
SECRET_PATTERNS = [
    re.compile(r"postgres(?:ql)?://[^:@/\s]+:[^@{\s]+@"),
    re.compile(r"(?im)^\s*(password|passwd|token|secret|secret_key|access_key|api_key)\s*:\s*\S"),
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]


@pytest.fixture(scope="module", params=sorted(VALUES))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, helm_template(*VALUES[request.param])


@pytest.mark.parametrize("name", sorted(VALUES))
def test_helm_lint_passes(name: str) -> None:
    command = [tool("helm"), "lint", "--strict", str(CHART)]
    command += ["--kube-version", KUBERNETES_VERSION]
    for values in VALUES[name]:
        command += ["--values", str(CHART / values)]
    result = run(command)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_manifest_is_valid_for_the_target_kubernetes_version(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    name, manifests = rendered
    assert manifests, f"{name}: nothing rendered"
    for manifest in manifests:
        if manifest["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_custom_resources_have_the_operator_shape(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, manifests = rendered
    (monitor,) = by_kind(manifests, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    services = {
        service["metadata"]["labels"]["app.kubernetes.io/component"]: service
        for service in by_kind(manifests, "Service")
    }
    assert set(services) == {"loader", "exporter"}
    selector = monitor["spec"]["selector"]
    for service in services.values():
        labels = service["metadata"]["labels"]
        assert all(labels.get(key) == value for key, value in selector["matchLabels"].items())
        (expression,) = selector["matchExpressions"]
        assert labels[expression["key"]] in expression["values"]
        assert [port["name"] for port in service["spec"]["ports"]] == ["http-metrics"]
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["http-metrics"]
    assert [e["path"] for e in monitor["spec"]["endpoints"]] == ["/metrics"]
    assert monitor["spec"]["podTargetLabels"] == ["track"]


def test_probes_point_at_the_health_endpoints_on_the_served_port(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, manifests = rendered
    expected_port = {"loader": 9464, "exporter": 9465}
    deployments = by_kind(manifests, "Deployment")
    assert {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in deployments} == {
        "loader",
        "exporter",
    }
    for deployment in deployments:
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        (container,) = pod_spec(deployment)["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports == {"http-metrics": expected_port[component]}
        assert container["livenessProbe"]["httpGet"] == {
            "path": "/health/live",
            "port": "http-metrics",
        }
        assert container["readinessProbe"]["httpGet"] == {
            "path": "/health/ready",
            "port": "http-metrics",
        }
        # The process serves what the probes ask for: its own port, on all addresses.
        args = container["args"]
        assert args[args.index("--metrics-port") + 1] == str(expected_port[component])
        assert args[args.index("--metrics-host") + 1] == "0.0.0.0"
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env["BILLING_HEALTH_PORT"] == str(expected_port[component])


def test_every_workload_runs_as_non_root_on_a_read_only_root_filesystem(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, manifests = rendered
    for workload in workloads(manifests):
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        mounts_needed = {"/tmp", "/var/lib/billing"}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"]
            assert container["resources"]["limits"]
            mounted = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert mounts_needed <= mounted, workload["metadata"]["name"]
        volumes = {volume["name"] for volume in spec["volumes"]}
        for container in spec["containers"]:
            assert {mount["name"] for mount in container["volumeMounts"]} <= volumes


def test_no_secret_value_is_rendered_or_in_the_values(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    name, manifests = rendered
    assert not by_kind(manifests, "Secret")
    texts = [yaml.safe_dump(manifest) for manifest in manifests]
    texts += [path.read_text() for path in CHART.glob("values*.yaml")]
    for text in texts:
        for pattern in SECRET_PATTERNS:
            assert not pattern.search(text), f"{name}: {pattern.pattern} matches"
    for workload in workloads(manifests):
        for container in pod_spec(workload)["containers"]:
            names = {item["name"] for item in container.get("env", [])}
            assert not {n for n in names if n.endswith("DATABASE_URL")}, "URLs come from Vault"
            assert "envFrom" not in container


def test_vault_agent_injects_each_components_own_database_url(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, manifests = rendered
    wanted = {
        "loader": ("billing-loader", ["loader"], False),
        "exporter": ("billing-exporter", ["auditor"], False),
        "close": ("billing-close", ["transformer", "renderer", "auditor"], True),
    }
    for workload in workloads(manifests):
        component = workload["metadata"]["labels"]["app.kubernetes.io/component"]
        role, database_roles, documents = wanted[component]
        annotations = pod_annotations(workload)
        assert annotations["vault.hashicorp.com/agent-inject"] == "true"
        assert annotations["vault.hashicorp.com/role"] == role
        secrets = {
            key.removeprefix("vault.hashicorp.com/agent-inject-secret-"): value
            for key, value in annotations.items()
            if key.startswith("vault.hashicorp.com/agent-inject-secret-")
        }
        expected = {
            f"database-{name}.env": f"database/static-creds/billing-{name}"
            for name in database_roles
        }
        if documents:
            expected["documents.env"] = "secret/data/billing/documents"
        assert secrets == expected
        for index, name in enumerate(database_roles):
            template = annotations[f"vault.hashicorp.com/agent-inject-template-database-{name}.env"]
            assert f'with secret "database/static-creds/billing-{name}"' in template
            variable = f"BILLING_{name.upper()}_DATABASE_URL"
            assert f'export {variable}="postgresql://{{{{ .Data.username }}}}:' in template
            assert ("export BILLING_DATABASE_URL=" in template) == (index == 0)
        if documents:
            template = annotations["vault.hashicorp.com/agent-inject-template-documents.env"]
            assert "export BILLING_DOCUMENTS_URI=" in template
            assert "export BILLING_S3_KMS_KEY_ID=" in template


def test_the_component_url_variables_are_the_ones_the_service_reads() -> None:
    from billing.roles import Role
    from billing.settings import Settings

    fields = set(Settings.model_fields)
    for role in ("loader", "transformer", "renderer", "auditor"):
        variable = f"BILLING_{role.upper()}_DATABASE_URL"
        assert Role(f"billing_{role}").url_variable == variable
        assert variable.removeprefix("BILLING_").lower() in fields


def test_the_close_cronjob_runs_monthly_forbids_overlap_and_is_suspended() -> None:
    (cronjob,) = by_kind(helm_template(), "CronJob")
    spec = cronjob["spec"]
    assert spec["schedule"] == "0 3 1 * *"
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["suspend"] is True
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    (container,) = job["template"]["spec"]["containers"]
    assert container["args"][0] == "close-month"
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    mounted = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert {"/app/dbt_project/target", "/app/dbt_project/logs"} <= mounted


def test_the_canary_track_has_its_own_tag_and_replicas() -> None:
    stable = {d["metadata"]["name"]: d for d in by_kind(helm_template(), "Deployment")}
    manifests = helm_template(*VALUES["canary"], set_values=["canary.image.tag=9.9.9"])
    deployments = {d["metadata"]["name"]: d for d in by_kind(manifests, "Deployment")}
    assert set(stable) == {"billing-loader", "billing-exporter"}
    assert set(deployments) == set(stable) | {"billing-loader-canary", "billing-exporter-canary"}
    for name, deployment in deployments.items():
        track = "canary" if name.endswith("-canary") else "stable"
        (container,) = pod_spec(deployment)["containers"]
        assert container["image"].endswith(":9.9.9" if track == "canary" else ":0.1.0")
        assert deployment["metadata"]["labels"]["track"] == track
        assert deployment["spec"]["selector"]["matchLabels"]["track"] == track
        assert deployment["spec"]["template"]["metadata"]["labels"]["track"] == track
    # The loader is exclusive: its canary takes over ingestion, the stable one is scaled down.
    assert deployments["billing-loader"]["spec"]["replicas"] == 0
    assert deployments["billing-loader-canary"]["spec"]["replicas"] == 1
    assert deployments["billing-exporter-canary"]["spec"]["replicas"] == 1
    assert deployments["billing-loader"]["spec"]["strategy"] == {"type": "Recreate"}
    # One Service per component selects both tracks.
    for service in by_kind(manifests, "Service"):
        assert "track" not in service["spec"]["selector"]


def test_two_loaders_at_once_are_refused_with_what_to_do() -> None:
    command = [tool("helm"), "template", "billing", str(CHART)]
    command += ["--set", "canary.enabled=true,canary.image.tag=1,canary.loader.replicas=1"]
    result = run(command)
    assert result.returncode != 0
    assert "the loader is exclusive" in result.stderr
    assert "set loader.replicas to 0" in result.stderr


def test_a_canary_needs_its_image_tag() -> None:
    command = [tool("helm"), "template", "billing", str(CHART), "--set", "canary.enabled=true"]
    result = run(command)
    assert result.returncode != 0
    assert "canary.image.tag is required" in result.stderr


def test_the_pod_disruption_budget_covers_both_loader_tracks() -> None:
    manifests = helm_template(*VALUES["canary"])
    (budget,) = by_kind(manifests, "PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == 1
    selector = budget["spec"]["selector"]["matchLabels"]
    assert "track" not in selector
    for deployment in by_kind(manifests, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matches = all(labels.get(key) == value for key, value in selector.items())
        assert matches == (labels["app.kubernetes.io/component"] == "loader")


@pytest.mark.parametrize(
    "arguments",
    [
        ["events", "load", "--metrics-host", "--metrics-port", "--batch-size"],
        ["close", "--month", "--wait-seconds"],
        ["exporter", "--metrics-host", "--metrics-port"],
    ],
)
def test_the_commands_the_chart_runs_exist_with_those_options(arguments: list[str]) -> None:
    words = [word for word in arguments if not word.startswith("--")]
    options = [word for word in arguments if word.startswith("--")]
    result = billing(*words, "--help", columns=200)
    assert result.returncode == 0, result.stderr
    for option in options:
        assert option in result.stdout, option
    rendered = yaml.safe_dump_all(helm_template())
    for option in options:
        if option != "--month":  # the entrypoint adds it (close-month)
            assert option in rendered


def test_the_dagster_values_serve_the_repository_definitions() -> None:
    values = yaml.safe_load((CHART.parent / "dagster" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    arguments = deployment["dagsterApiGrpcArgs"]
    module = arguments[arguments.index("--module-name") + 1]
    attribute = arguments[arguments.index("--attribute") + 1]
    # What `dagster api grpc --module-name M --attribute A` loads: a @dg.definitions function
    # (built by the code server; building it here would parse the dbt project).
    definitions = getattr(importlib.import_module(module), attribute)
    assert type(definitions).__name__ == "LazyDefinitions"
    assert isinstance(definitions, type(dg.definitions(lambda: dg.Definitions())))
    assert deployment["securityContext"]["readOnlyRootFilesystem"] is True
    assert deployment["podSecurityContext"]["runAsNonRoot"] is True
    mounted = {mount["mountPath"] for mount in deployment["volumeMounts"]}
    assert {"/tmp", "/var/lib/billing", "/app/dbt_project/target"} <= mounted
    launched = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]
    assert launched["podTemplateSpecMetadata"]["annotations"] == deployment["annotations"]


def test_the_scrape_jobs_are_the_ones_the_alert_rules_select() -> None:
    rules = "".join(path.read_text() for path in sorted(RULES_SOURCE.glob("*.yml")))
    jobs = set(re.findall(r'job="([a-z-]+)"', rules))
    assert jobs == {"billing-loader", "billing-exporter"}
    (monitor,) = by_kind(helm_template(), "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    (relabel,) = [r for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
    assert relabel["sourceLabels"] == [
        "__meta_kubernetes_service_label_app_kubernetes_io_component"
    ]
    components = set(monitor["spec"]["selector"]["matchExpressions"][0]["values"])
    assert {relabel["replacement"].replace("$1", c) for c in components} == jobs
