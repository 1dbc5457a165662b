"""The dbt project as Dagster sees it: its manifest, kept fresh, and a folder per invocation."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from dagster_dbt import DbtProject

from billing.transform import DBT_PROJECT_DIR, run_dbt

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
