"""Coverage of the Python processes a test starts (the `billing` command, a loader).

When the suite runs under coverage (`make test`: pytest --cov), a child started with these
variables measures itself too: coverage's own .pth file starts it from COVERAGE_PROCESS_START
(the project's pyproject.toml), and it writes its data next to the suite's (COVERAGE_FILE,
absolute, whatever the child's working directory), where the report combines it. Without
coverage, nothing is added.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
    return {"COVERAGE_PROCESS_START": str(ROOT / "pyproject.toml"), "COVERAGE_FILE": base}
