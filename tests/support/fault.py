"""The loader's fault suite (tests/fault/): servers of its own on loopback, a loader process
to kill, and the reconciliation every scenario ends with.

FAULT_SCALE (default 1) multiplies the event counts: scenario 1 loads 20,000 events at scale 1
and the issue's 200,000 at FAULT_SCALE=10.

`reconcile` is the one place that says what "exactly once" means for a scenario, by stream
sequence; `ledger_reconciles` then prices the month and asks the ledger (finance/ledger.py,
what `billing ledger` prints) for its own reconciliation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import psycopg

from billing import db, localservices
from billing.periods import Period
from billing.roles import Role
from billing.settings import CHARGE_STREAM
from finance.ledger import Reconciliation as LedgerReconciliation
from finance.ledger import reconcile as reconcile_ledger
from finance.reference import import_accounts, import_tiers
from producers.sample import sample_accounts, sample_events, write_reference_csvs
from tests.support.cli import BILLING
from tests.support.coverage import subprocess_environment
from tests.support.dbt import DbtProject
from tests.support.observability import http_get

SAMPLE_TENANTS = 20  # the tenants of the scenarios' events


def fault_scale() -> int:
    """FAULT_SCALE from the environment: a positive integer, 1 when unset."""
    text = os.environ.get("FAULT_SCALE", "1")
    try:
        scale = int(text)
    except ValueError:
        scale = 0
    if scale < 1:
        raise ValueError(f"FAULT_SCALE={text!r}: use a positive integer (1 = default sizes)")
    return scale


def scaled(count: int) -> int:
    """`count` events at FAULT_SCALE 1, times the scale."""
    return count * fault_scale()


def valid_events(count: int, seed: int) -> list[bytes]:
    """`count` distinct, valid charge events of last month (inside the loader's bounds)."""
    month = Period.of(datetime.now(UTC).date()).previous()
    return list(sample_events(month.start, count, SAMPLE_TENANTS, seed=seed, duplicate_rate=0))


def wait_until(what: str, probe: Callable[[], Any], timeout: float, every: float = 0.05) -> Any:
    """The first truthy answer of `probe` within `timeout` seconds; AssertionError otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, psycopg.OperationalError):
            last = probe()
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"not within {timeout:g} s: {what} (last answer: {last!r})")


class OwnPostgres:
    """A pgserver cluster in its own folder, migrated, that a scenario may stop and start."""

    def __init__(self, folder: Path) -> None:
        self.pgdata = folder / "pgdata"
        self.pgdata.mkdir(parents=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

        self._server = pgserver.get_server(self.pgdata, cleanup_mode=None)  # type: ignore[attr-defined]
        self.server_url: str = str(self._server.get_uri())
        db.migrate(self.server_url)

    def stop(self) -> None:
        """A fast shutdown (clients are disconnected at once)."""
        localservices._stop_postgres(self.pgdata)

    def start(self) -> None:
        self._server.ensure_postgres_running()

    def running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()


@contextlib.contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    """A cluster of its own, stopped and removed afterwards even on failure."""
    folder = Path(tempfile.mkdtemp(prefix="fault-pg-"))
    server: OwnPostgres | None = None
    try:
        server = OwnPostgres(folder)
        yield server
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(folder, ignore_errors=True)


class OwnNats:
    """A nats-server with JetStream file storage on a free loopback port, to stop and start."""

    def __init__(self, folder: Path) -> None:
        self.store = folder / "jetstream"
        self.log = folder / "nats-server.log"
        self.port = localservices.free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                str(localservices.nats_server_binary()),
                "-js",
                "-sd",
                str(self.store),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-l",
                str(self.log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        localservices._wait_for_port(self.port, timeout=15)

    def stop(self) -> None:
        """SIGTERM (a clean stop: what was acknowledged to publishers is on disk) and wait."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def own_nats() -> Iterator[OwnNats]:
    folder = Path(tempfile.mkdtemp(prefix="fault-nats-"))
    server = OwnNats(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


class LoaderProcess:
    """`billing events load` as an operator runs it, with /health/* on a loopback port."""

    def __init__(
        self, database_url: str, nats_url: str, workdir: Path, *arguments: str, name: str = "loader"
    ) -> None:
        self.arguments = list(arguments)
        self.environment = {
            "BILLING_DATABASE_URL": database_url,
            "BILLING_NATS_URL": nats_url,
            "BILLING_STATE_DIR": str(workdir / "state"),
        }
        self.log = workdir / f"{name}.log"
        self.port = localservices.free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        inherited = {
            name: value for name, value in os.environ.items() if not name.startswith("BILLING_")
        }
        self.port = localservices.free_port()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [BILLING, "events", "load", *self.arguments, "--metrics-port", str(self.port)],
                env={**inherited, **subprocess_environment(), **self.environment},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready(self) -> tuple[int, dict[str, Any]]:
        """Status and body of /health/ready ((0, {}) when nothing answers)."""
        try:
            status, body = http_get(f"http://127.0.0.1:{self.port}/health/ready", timeout=3)
        except (OSError, urllib.error.URLError):
            return 0, {}
        return status, json.loads(body)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 30) -> None:
        def ready() -> bool:
            if not self.alive():
                raise AssertionError(f"the loader exited: {self.log.read_text()}")
            return self.ready()[0] == 200

        wait_until(f"the loader ready (log: {self.log})", ready, timeout, every=0.1)

    def kill(self) -> None:
        """SIGKILL: no batch finished, nothing acknowledged beyond what was."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextlib.contextmanager
def loader_process(
    database_url: str, nats_url: str, workdir: Path, *arguments: str
) -> Iterator[LoaderProcess]:
    """A loader process (not started yet), killed afterwards if still running."""
    loader = LoaderProcess(database_url, nats_url, workdir, *arguments)
    try:
        yield loader
    finally:
        loader.kill()


def checkpoint(database_url: str) -> int:
    """The loader's committed high-water mark (0 before its first batch)."""
    with psycopg.connect(database_url, connect_timeout=2) as conn:
        row = conn.execute(
            "select coalesce(max(last_stream_sequence), 0) from raw.loader_checkpoints"
        ).fetchone()
    return int(row[0]) if row else 0


def stream_last_sequence(nats_url: str) -> int:
    async def read() -> int:
        client = await nats.connect(nats_url)
        try:
            info = await client.jetstream().stream_info(CHARGE_STREAM)
            return int(info.state.last_seq)
        finally:
            await client.close()

    return asyncio.run(read())


@dataclass(frozen=True)
class Reconciliation:
    """Stream sequences against what the database holds for them."""

    scenario: str
    sent: int  # stream sequences 1..sent (what the server stored)
    landed: int
    rejected: int
    lost: int  # sequences in neither raw table
    doubled: int  # sequences in both, or beyond the stream
    faults: int
    distinct_events: int  # distinct event_id landed

    def line(self) -> str:
        return (
            f"{self.scenario}: sent {self.sent}, faults {self.faults}, lost {self.lost}, "
            f"doubled {self.doubled} (landed {self.landed}, rejected {self.rejected}, "
            f"distinct events {self.distinct_events})"
        )


def reconcile(
    scenario: str,
    database_url: str,
    nats_url: str,
    *,
    faults: int,
    expected_event_ids: Iterable[str] | None = None,
) -> Reconciliation:
    """Every stream sequence landed or rejected exactly once; printed as one line (pytest -s)
    and asserted. With `expected_event_ids`, the distinct events landed are exactly those."""
    sent = stream_last_sequence(nats_url)
    with psycopg.connect(database_url) as conn:
        landed = [row[0] for row in conn.execute("select stream_sequence from raw.message_charged")]
        rejected = [
            row[0] for row in conn.execute("select stream_sequence from raw.rejected_messages")
        ]
        events = {str(row[0]) for row in conn.execute("select event_id from raw.message_charged")}
    landed_set, rejected_set = set(landed), set(rejected)
    every = set(range(1, sent + 1))
    outcome = Reconciliation(
        scenario=scenario,
        sent=sent,
        landed=len(landed),
        rejected=len(rejected),
        lost=len(every - landed_set - rejected_set),
        doubled=(len(landed) - len(landed_set))
        + (len(rejected) - len(rejected_set))
        + len(landed_set & rejected_set)
        + len((landed_set | rejected_set) - every),
        faults=faults,
        distinct_events=len(events),
    )
    print(outcome.line())
    assert (outcome.lost, outcome.doubled) == (0, 0), outcome.line()
    assert outcome.sent == outcome.landed + outcome.rejected, outcome.line()
    if expected_event_ids is not None:
        expected = set(expected_event_ids)
        assert events == expected, (
            f"{len(expected - events)} event(s) never landed, "
            f"{len(events - expected)} landed that were not expected"
        )
    return outcome


def ledger_reconciles(
    database_url: str, dbt_target_path: Path, *, seed: bool = False
) -> LedgerReconciliation:
    """The month's events priced (the sample tenants' accounts and tiers imported, the models
    built, as a close's first step does) and the ledger's reconciliation of the month, printed
    and asserted. `seed`: the database is not a copy of the seeded test template."""
    month = Period.of(datetime.now(UTC).date()).previous()
    project = DbtProject(database_url, dbt_target_path)
    if seed:
        project.seed()
    with tempfile.TemporaryDirectory() as folder, psycopg.connect(database_url) as conn:
        accounts, tiers = write_reference_csvs(
            sample_accounts(SAMPLE_TENANTS, month.start), Path(folder)
        )
        import_accounts(conn, accounts)
        import_tiers(conn, tiers)
    project.build_models(month.label)
    with db.connect(database_url, role=Role.FINANCE) as conn:
        ledger = reconcile_ledger(conn, month)
    print(f"ledger: {ledger.line()}")
    assert ledger.reconciles, ledger.line()
    return ledger
