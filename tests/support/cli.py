"""The real `billing` command of this virtual environment, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.coverage import subprocess_environment

BILLING = str(Path(sys.prefix) / "bin" / "billing")


def billing(
    *arguments: str, columns: int = 80, timeout: float = 120, **environment: str
) -> subprocess.CompletedProcess[str]:
    """Run `billing ARGUMENTS` with the given BILLING_* variables only (none of this shell's)."""
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith("BILLING_")
    }
    return subprocess.run(
        [BILLING, *arguments],
        env={**inherited, **subprocess_environment(), "COLUMNS": str(columns), **environment},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def one_line(stream: str) -> str:
    """The single line a failure prints; fails when there are more, or a traceback."""
    lines = [line for line in stream.splitlines() if line.strip()]
    assert "Traceback" not in stream, stream
    assert len(lines) == 1, stream
    return lines[0]
