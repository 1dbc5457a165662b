"""The dbt manifest rule: parsed when the project changed, reused otherwise, never stale."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from dagster_dbt import DbtProject

from orchestration.defs.dbt.project import MANIFEST_TARGET, prepare_manifest, project_fingerprint
from warehouse.transform import DBT_PROJECT_DIR, DbtFailedError


def copy_of_the_project(tmp_path: Path) -> DbtProject:
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    return DbtProject(project_dir=copy, profiles_dir=copy, target_path=MANIFEST_TARGET)


def models(manifest: dict[str, object]) -> set[str]:
    nodes = manifest["nodes"]
    assert isinstance(nodes, dict)
    return {node["name"] for node in nodes.values() if node["resource_type"] == "model"}


def test_the_manifest_is_parsed_once_and_again_only_when_the_project_changes(
    tmp_path: Path,
) -> None:
    project = copy_of_the_project(tmp_path)
    assert project_fingerprint(project.project_dir) == project_fingerprint(DBT_PROJECT_DIR)

    first = prepare_manifest(project)
    assert first.parsed
    assert "invoice_drafts" in models(dict(first.content))

    # Unchanged (even with every file touched): reused, no dbt parse.
    for path in project.project_dir.rglob("*.sql"):
        os.utime(path)
    again = prepare_manifest(project)
    assert not again.parsed
    assert again.fingerprint == first.fingerprint

    # A new model with a broken YAML beside it: the parse fails and claims nothing...
    model = project.project_dir / "models" / "staging" / "stg_probe.sql"
    model.write_text("select 1 as probe\n")
    broken = model.with_suffix(".yml")
    broken.write_text("models: [\n")
    with pytest.raises(DbtFailedError, match="parse"):
        prepare_manifest(project)

    # ...so the next use parses again, and the manifest has the new model.
    broken.unlink()
    changed = prepare_manifest(project)
    assert changed.parsed
    assert changed.fingerprint != first.fingerprint
    assert "stg_probe" in models(dict(changed.content))
    assert not prepare_manifest(project).parsed
