"""Coverage of the Python processes a test starts (the `billing` command, a loader).

When the suite runs under coverage (`make test`: pytest --cov), a child started with these
variables measures itself too, and so do its Python descendants but dbt: the sitecustomize of
coverage_start/ (on their PYTHONPATH) starts coverage from the project's pyproject.toml
(BILLING_TEST_COVERAGE_START), and each writes its data next to the suite's (COVERAGE_FILE,
absolute, whatever the child's working directory), where the report combines it. Without
coverage, nothing is added.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Its sitecustomize starts coverage in each Python descendant but dbt.
COVERAGE_START = Path(__file__).resolve().parent / "coverage_start"


def subprocess_environment() -> dict[str, str]:
    """The variables that make a Python child measure itself, when this process is measured."""
    try:
        from coverage import Coverage
    except ImportError:  # pragma: no cover (coverage is a dev dependency)
        return {}
    current = Coverage.current()
    if current is None:
        return {}
    data_file = str(current.config.data_file)
    # A worker's data file carries a parallel suffix (.host.pid.random): children add their own.
    base = os.path.abspath(data_file.split(".", 1)[0] if "coverage." in data_file else data_file)
    python_path = os.pathsep.join(
        part for part in (str(COVERAGE_START), os.environ.get("PYTHONPATH", "")) if part
    )
    return {
        "BILLING_TEST_COVERAGE_START": str(ROOT / "pyproject.toml"),
        "COVERAGE_FILE": base,
        "PYTHONPATH": python_path,
    }
