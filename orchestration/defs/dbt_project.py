"""The dbt project as Dagster sees it: its manifest, kept fresh, and how nodes become assets."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from warehouse.transform import DBT_PROJECT_DIR, run_dbt

# Manifest Dagster reads (parsed without a database) and the folders of each dbt invocation.
MANIFEST_TARGET = Path("target") / "dagster"
RUNS_DIR = DBT_PROJECT_DIR / "target" / "dagster-runs"
_KEEP_RUNS = 10
PARTIAL_PARSE = "partial_parse.msgpack"
# profiles.yml needs a connection to render; parsing never connects.
_PARSE_URL = "postgresql://dbt@localhost:5432/billing"
_SOURCE_SUFFIXES = (".sql", ".yml", ".yaml", ".csv", ".md")

BILLING_DBT_PROJECT = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=MANIFEST_TARGET,
)

LAYER_GROUPS = ("staging", "intermediate", "marts")
SOURCE_GROUPS = {"raw": "raw", "ref": "reference", "issued": "issued"}


def _newest_project_change() -> float:
    newest = 0.0
    for path in DBT_PROJECT_DIR.rglob("*"):
        parts = path.relative_to(DBT_PROJECT_DIR).parts
        if parts[0] in ("target", "logs", "dbt_packages"):
            continue
        if path.suffix in _SOURCE_SUFFIXES and path.is_file():
            newest = max(newest, path.stat().st_mtime)
    return newest


def prepare_manifest() -> Path:
    """manifest.json for the current project files; `dbt parse` (a few seconds) when stale.

    Processes that load the Definitions at once (test workers, the UI's code server) take a
    file lock, so one parses and the others read its result.
    """
    manifest = BILLING_DBT_PROJECT.manifest_path
    target = manifest.parent
    target.mkdir(parents=True, exist_ok=True)
    with (target.parent / "dagster-parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or manifest.stat().st_mtime < _newest_project_change():
            run_dbt(["parse", "--quiet"], _PARSE_URL, target_path=target)
    return manifest


def invocation_target(name: str) -> Path:
    """A fresh folder for one dbt invocation's artifacts; keeps the newest few."""
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    previous = sorted(RUNS_DIR.iterdir(), key=lambda path: path.stat().st_mtime)
    for old in previous[: max(0, len(previous) - _KEEP_RUNS + 1)]:
        shutil.rmtree(old, ignore_errors=True)
    return RUNS_DIR / name


def reuse_partial_parse(target: Path, profile: Mapping[str, str], period: str) -> None:
    """Start `target` with the newest partial parse made with the same profile and vars.

    Each invocation gets a fresh folder, so dbt would parse the whole project every time
    (seconds). dbt checks a partial parse itself and parses again what changed, so reusing one
    is always safe; matching profile and vars only makes it likely to be usable.
    """
    key = hashlib.sha256(json.dumps([sorted(profile.items()), period]).encode()).hexdigest()
    target.mkdir(parents=True, exist_ok=True)
    (target / "parse-key").write_text(key)
    candidates = [
        path
        for path in RUNS_DIR.glob(f"*/{PARTIAL_PARSE}")
        if path.parent != target
        and (path.parent / "parse-key").exists()
        and (path.parent / "parse-key").read_text() == key
    ]
    if candidates:
        newest = max(candidates, key=lambda path: path.stat().st_mtime)
        shutil.copy(newest, target / PARTIAL_PARSE)


class BillingDbtTranslator(DagsterDbtTranslator):
    """Asset keys are dbt names (sources: [source, table]); groups follow the dbt layers,
    and the Finance seeds are the catalogue group."""

    def __init__(self) -> None:
        # dbt source tests stay observations: a dbt test on raw.message_charged as a check of
        # the dbt step would exempt that step from the blocking GX checks on the raw table.
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        resource_type = dbt_resource_props.get("resource_type")
        if resource_type == "seed":
            return "catalogue"
        if resource_type == "source":
            return SOURCE_GROUPS.get(str(dbt_resource_props.get("source_name")), "sources")
        fqn = dbt_resource_props.get("fqn") or []
        if len(fqn) >= 3 and fqn[1] in LAYER_GROUPS:
            return str(fqn[1])
        return super().get_group_name(dbt_resource_props)


TRANSLATOR = BillingDbtTranslator()


def source_specs(manifest_path: Path, exclude: set[dg.AssetKey]) -> list[dg.AssetSpec]:
    """External assets for the dbt sources (reference data, issued tables), with their
    descriptions, so the lineage shows what the models read; `exclude` are defined elsewhere."""
    manifest = json.loads(manifest_path.read_text())
    specs = []
    for source in manifest.get("sources", {}).values():
        key = TRANSLATOR.get_asset_key(source)
        if key in exclude:
            continue
        specs.append(
            dg.AssetSpec(
                key=key,
                description=(source.get("description") or "").strip() or None,
                group_name=TRANSLATOR.get_group_name(source),
                kinds={"postgres"},
                metadata={"relation": f"{source['schema']}.{source['name']}"},
            )
        )
    return sorted(specs, key=lambda spec: spec.key.to_user_string())
