"""The dbt project as Dagster sees it: its manifest, prepared once and reused, and a folder
for each dbt invocation of a close.

The manifest rule (docs/orchestration.md, "The dbt manifest"): importing the Definitions
reads nothing. When they are built (the code location loads, `billing close`, a test), the
project's fingerprint (sha256 of every file dbt parses, and the dbt version; ~7 ms) is
compared with the one recorded beside target/dagster/manifest.json: equal, the manifest is
reused; different or missing, `dbt parse` writes it again (a few seconds, partial parse) and
records the new fingerprint. So nothing ever runs on a stale manifest, and nothing parses
twice for the same project. `python -m orchestration.defs.dbt.project` prepares it ahead
(an image build step, like `dagster-dbt project prepare-and-package`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

from warehouse.transform import DBT_PROJECT_DIR, run_dbt

# Manifest Dagster reads (parsed without a database) and the folders of each dbt invocation.
MANIFEST_TARGET = Path("target") / "dagster"
FINGERPRINT_FILE = "project-fingerprint"
RUNS_DIR = DBT_PROJECT_DIR / "target" / "dagster-runs"
_KEEP_RUNS = 10
PARTIAL_PARSE = "partial_parse.msgpack"
# profiles.yml needs a connection to render; parsing never connects.
_PARSE_URL = "postgresql://dbt@localhost:5432/billing"
# What dbt reads when it parses; target/, logs/ and dbt_packages/ are its own output.
_PARSED_SUFFIXES = (".sql", ".yml", ".yaml", ".csv", ".md", ".py")
_OUTPUT_FOLDERS = ("target", "logs", "dbt_packages")


@cache
def billing_dbt_project() -> DbtProject:
    """The service's dbt project (DbtProject reads dbt_project.yml: built on first use)."""
    return DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target_path=MANIFEST_TARGET,
    )


def _parsed_files(project_dir: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(project_dir):
        if Path(folder) == project_dir:  # never descend into dbt's output (thousands of files)
            subfolders[:] = [name for name in subfolders if name not in _OUTPUT_FOLDERS]
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            if name.endswith(_PARSED_SUFFIXES) and not name.startswith("."):
                yield Path(folder) / name


def project_fingerprint(project_dir: Path) -> str:
    """sha256 of the dbt version and every file dbt parses (names and contents).

    Contents, not mtimes: a checkout or a copy that touches files without changing them does
    not force a parse, and an edit that keeps the mtime (a restored file) still does.
    """
    digest = hashlib.sha256(f"dbt-core {version('dbt-core')}\n".encode())
    for path in sorted(_parsed_files(project_dir)):
        content = path.read_bytes()
        name = path.relative_to(project_dir).as_posix()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


@dataclass(frozen=True)
class PreparedManifest:
    """A manifest.json that matches the project files it was parsed from."""

    path: Path
    fingerprint: str
    parsed: bool = field(compare=False)  # this call ran `dbt parse`
    content: Mapping[str, Any] = field(compare=False, hash=False, repr=False)


@contextmanager
def _parse_lock(target: Path, *, exclusive: bool) -> Iterator[None]:
    # Processes that build the Definitions at once (test workers, the UI's code server, a
    # close) share the folder: one parses, the others wait and read its result.
    target.mkdir(parents=True, exist_ok=True)
    with (target.parent / "dagster-parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield


def _recorded(target: Path) -> str | None:
    stamp = target / FINGERPRINT_FILE
    manifest = target / "manifest.json"
    return stamp.read_text().strip() if stamp.exists() and manifest.exists() else None


def _loaded(target: Path, fingerprint: str, *, parsed: bool) -> PreparedManifest:
    path = target / "manifest.json"
    return PreparedManifest(path, fingerprint, parsed, json.loads(path.read_text()))


def _parse(project: DbtProject, target: Path, fingerprint: str) -> None:
    stamp = target / FINGERPRINT_FILE
    stamp.unlink(missing_ok=True)  # a parse that fails leaves no claim of freshness
    project_dir = str(project.project_dir)
    run_dbt(
        ["parse", "--quiet", "--project-dir", project_dir, "--profiles-dir", project_dir],
        _PARSE_URL,
        target_path=target,
    )
    written = stamp.with_suffix(".tmp")
    written.write_text(fingerprint + "\n")
    os.replace(written, stamp)


def prepare_manifest(project: DbtProject | None = None) -> PreparedManifest:
    """The project's manifest, parsed again only when the project changed since the last parse.

    Called when the Definitions are built, never at import.
    """
    project = project or billing_dbt_project()
    target = project.manifest_path.parent
    fingerprint = project_fingerprint(project.project_dir)
    with _parse_lock(target, exclusive=False):
        if _recorded(target) == fingerprint:
            return _cached(target, fingerprint)
    with _parse_lock(target, exclusive=True):
        parsed = _recorded(target) != fingerprint  # another process may have parsed meanwhile
        if parsed:
            _parse(project, target, fingerprint)
            _cached.cache_clear()
        return _loaded(target, fingerprint, parsed=parsed)


@cache
def _cached(target: Path, fingerprint: str) -> PreparedManifest:
    """One read of a given manifest per process (1 MB of JSON, ~20 ms)."""
    return _loaded(target, fingerprint, parsed=False)


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


if __name__ == "__main__":
    prepared = prepare_manifest()
    state = "parsed" if prepared.parsed else "already up to date"
    print(f"{prepared.path}: {state} (project fingerprint {prepared.fingerprint[:12]})")
