"""Combine the suite's coverage data and fail below the thresholds of pyproject.toml.

Usage: python scripts/coverage_gate.py   (after `pytest --cov`, as `make test` runs it)

The data comes from every process the suite ran (pytest's workers, the `billing` command run as
a subprocess, the loader, render workers: `[tool.coverage.run] patch = subprocess`); this script
merges what pytest-cov has not, prints statement coverage per package and per group of
`[tool.coverage-gate]`, and exits 1 when one is below its minimum.
"""

from __future__ import annotations

import json
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from coverage import Coverage

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Group:
    name: str
    paths: tuple[str, ...]  # files, or folders ending in "/"
    minimum: float

    def holds(self, path: str) -> bool:
        return any(
            path == item or (item.endswith("/") and path.startswith(item)) for item in self.paths
        )


def groups(config: dict[str, object]) -> list[Group]:
    """The package groups, then the named ones, from [tool.coverage-gate]."""
    found = [
        Group(name, (f"{name}/",), float(minimum))
        for name, minimum in config["packages"].items()  # type: ignore[attr-defined]
    ]
    for name, group in config.get("groups", {}).items():  # type: ignore[attr-defined]
        found.append(Group(name, tuple(group["paths"]), float(group["minimum"])))
    return found


def file_summaries(cov: Coverage) -> dict[str, tuple[int, int]]:
    """(statements, covered) per source file, unexecuted files included."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "coverage.json"
        cov.json_report(outfile=str(report))
        files = json.loads(report.read_text())["files"]
    return {
        Path(path).resolve().relative_to(ROOT).as_posix(): (
            data["summary"]["num_statements"],
            data["summary"]["covered_lines"],
        )
        for path, data in files.items()
    }


def main() -> int:
    with (ROOT / "pyproject.toml").open("rb") as file:
        config = tomllib.load(file)["tool"]["coverage-gate"]
    cov = Coverage(config_file=str(ROOT / "pyproject.toml"))
    cov.load()
    cov.combine(keep=False)  # workers' and subprocesses' files pytest-cov left, if any
    cov.save()
    summaries = file_summaries(cov)
    failed = []
    print(f"{'coverage of':<44} {'statements':>10} {'covered':>8} {'minimum':>8}")
    for group in groups(config):
        statements = sum(s for path, (s, _) in summaries.items() if group.holds(path))
        covered = sum(c for path, (_, c) in summaries.items() if group.holds(path))
        percent = 100.0 * covered / statements if statements else 100.0
        mark = "" if percent >= group.minimum else "  BELOW"
        print(f"{group.name:<44} {statements:>10} {percent:>7.1f}% {group.minimum:>7.0f}%{mark}")
        if mark:
            failed.append(group.name)
    if failed:
        print(f"coverage below its threshold: {', '.join(failed)} (pyproject.toml, coverage-gate)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
