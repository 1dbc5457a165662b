"""The loader and the exporter started as an operator starts them: `billing events load`,
`billing exporter`, each with its own /metrics port on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from billing.localservices import free_port
from tests.support.cli import BILLING
from tests.support.coverage import subprocess_environment
from tests.support.observability import http_get, wait_for


class Process:
    """A `billing` process serving /metrics and /health/* on 127.0.0.1:port."""

    def __init__(self, arguments: list[str], environment: dict[str, str], log: Path) -> None:
        self.arguments = arguments
        self.environment = environment
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        inherited = {
            name: value for name, value in os.environ.items() if not name.startswith("BILLING_")
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [BILLING, *self.arguments, "--metrics-port", str(self.port)],
                env={**inherited, **subprocess_environment(), **self.environment},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            f"`billing {' '.join(self.arguments)}` ready (log: {self.log})",
            lambda: self._alive() and http_get(f"{self.url}/health/ready")[0] == 200,
            timeout=60,
        )

    def _alive(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"exited {self.process.returncode}: {self.log.read_text()}")
        return True

    def stop(self) -> int:
        """SIGTERM (a graceful stop) and wait; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code


@contextmanager
def loader_and_exporter(
    database_url: str, nats_url: str, workdir: Path, refresh_seconds: float = 0.5
) -> Iterator[tuple[Process, Process]]:
    environment = {
        "BILLING_DATABASE_URL": database_url,
        "BILLING_NATS_URL": nats_url,
        "BILLING_STATE_DIR": str(workdir / "state"),
    }
    loader = Process(["events", "load"], environment, workdir / "loader.log")
    exporter = Process(
        ["exporter", "--refresh-seconds", str(refresh_seconds)],
        environment,
        workdir / "exporter.log",
    )
    started: list[Process] = []
    try:
        for process in (loader, exporter):
            process.start()
            started.append(process)
        yield loader, exporter
    finally:
        for process in started:
            if process.process is not None:
                process.stop()
