"""The image definition: hadolint finds nothing, and it has what the deployment relies on."""

from __future__ import annotations

import re

from tests.support.deploy import ROOT, run, tool

DOCKERFILE = ROOT / "Dockerfile"


def test_hadolint_finds_nothing() -> None:
    result = run([tool("hadolint"), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_every_hadolint_ignore_is_justified_in_place() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        match = re.search(r"hadolint ignore=([A-Z0-9,]+)", line)
        if match:
            nearby = "\n".join(lines[max(0, number - 3) : number + 6])
            for rule in match.group(1).split(","):
                assert re.search(rf"{rule} \(.+\):", nearby), f"{rule} ignored without a reason"


def test_the_image_is_multi_stage_pinned_non_root_and_checks_its_health() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+) AS (\w+)", text, flags=re.MULTILINE)
    assert [name for _, name in stages] == ["build", "runtime"]
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)", text, flags=re.MULTILINE)
    # An exact tag (major.minor.patch) or a digest: never "latest" nor a moving "3.11".
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base)
    assert re.search(r"^USER 10001:10001$", text, flags=re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*\n.*billing-entrypoint\", \"healthcheck", text, re.M)
    assert "python -m orchestration.defs.dbt.project" in text  # the prepared manifest
    assert "COPY dbt_project/ dbt_project/" in text
    assert "COPY invoice_renderer/ invoice_renderer/" in text  # templates and fonts


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_local_state() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(), flags=re.M)
    for sources in copied:
        for source in sources.split():
            assert source.rstrip("/") in allowed, f"{source} is excluded by .dockerignore"
    assert ignore[ignore.index("*")] == "*"  # everything else stays out (.venv, .billing, .git)
    assert {"dbt_project/target", "dbt_project/logs"} <= set(ignore)
