"""The real `billing` command of this virtual environment, run as a user runs it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
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


@contextlib.contextmanager
def billing_server(
    *arguments: str, stop_seconds: float = 90, **environment: str
) -> Iterator[subprocess.Popen[str]]:
    """Start a long-running `billing ARGUMENTS` (ui, docs) in its own process group, with this
    shell's environment and the given variables; on exit stop it as Ctrl-C does (SIGINT to
    the group), then kill the group if it has not stopped within `stop_seconds`: long enough
    for a loaded machine, since a killed process loses its coverage data (make test's
    coverage gate then fails although every test passed). Its output goes to a temporary
    file, never a pipe: a pipe nobody reads fills up (`billing ui` logs a lot), and then the
    server blocks on a write and cannot stop."""
    with tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen(
            [BILLING, *arguments],
            env={**os.environ, **subprocess_environment(), **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=stop_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
