"""The exporter process: refresh the snapshot from PostgreSQL on an interval, serve it.

One asyncio loop runs the refresh and the kernel's HealthServer (/metrics, /health/live,
/health/ready). The session is the auditor's (read-only, all tenants; its own URL in
production, BILLING_AUDITOR_DATABASE_URL), read-only and bounded by a statement and a lock
timeout (exporter/queries.py). PostgreSQL lost after the start is waited for: the families
keep their last values, /health/ready says 503, and the refresh reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry
from psycopg import errors, sql

from billing import db, localservices
from billing.errors import BillingError
from billing.health import HealthServer, stop_on_signals
from billing.periods import Period
from billing.roles import Role
from billing.settings import Settings
from exporter import queries
from exporter.collector import WarehouseCollector

log = logging.getLogger(__name__)


class ExporterRefusedError(BillingError):
    """The exporter cannot start: the message says why and what to do."""


@dataclass(frozen=True)
class ExporterConfig:
    """Where to read, how often, where to serve."""

    database_url: str
    database_role: str | None = Role.AUDITOR
    refresh_seconds: float = 30.0
    statement_timeout_seconds: float = 5.0
    lock_timeout_seconds: float = 1.0
    http_host: str = "127.0.0.1"
    http_port: int = 9465
    handle_signals: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> ExporterConfig:
        """The exporter's configuration from the service settings: the auditor's own URL
        (production), else the owner URL (or the embedded server's) with SET ROLE."""
        if settings.auditor_database_url:
            url, role = settings.auditor_database_url, None
        else:
            url, role = db.role_url(
                settings, localservices.resolve_database_url(settings), Role.AUDITOR
            )
        return cls(
            database_url=url,
            database_role=role,
            refresh_seconds=settings.exporter_refresh_seconds,
            statement_timeout_seconds=settings.exporter_statement_timeout_seconds,
            lock_timeout_seconds=settings.exporter_lock_timeout_seconds,
            **options,
        )


class Exporter:
    """Refreshes the warehouse-side families and serves them."""

    def __init__(self, config: ExporterConfig, registry: CollectorRegistry | None = None) -> None:
        self.config = config
        self.registry = registry if registry is not None else CollectorRegistry()
        self.collector = WarehouseCollector(self.registry, tuple(q.name for q in queries.ALL))
        self.http_port: int | None = None
        self.refreshes = 0
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._stop = asyncio.Event()
        self._db_ok = False
        self.started = asyncio.Event()

    def stop(self) -> None:
        """End the run after the refresh in hand (SIGTERM, SIGINT)."""
        self._stop.set()

    def readiness(self) -> dict[str, bool]:
        """PostgreSQL reachable at the last refresh, and at least one refresh done."""
        return {
            "postgres": self._db_ok,
            "refreshed": self.collector.snapshot.refreshed_at is not None,
        }

    async def run(self) -> int:
        """Serve and refresh until stopped; returns the number of refreshes."""
        http = HealthServer(self.registry, self.readiness)
        self.http_port = await http.start(self.config.http_host, self.config.http_port)
        try:
            try:
                self._conn = await self._connect()
            except psycopg.OperationalError as error:
                raise ExporterRefusedError(
                    f"cannot connect to PostgreSQL: {_first_line(error)}; check "
                    "BILLING_AUDITOR_DATABASE_URL or BILLING_DATABASE_URL (or run "
                    "`billing services up`)"
                ) from None
            log.info(
                "metrics and health on http://%s:%d, refreshed every %g s",
                self.config.http_host,
                self.http_port,
                self.config.refresh_seconds,
            )
            with stop_on_signals(self.stop, enabled=self.config.handle_signals):
                self.started.set()
                while not self._stop.is_set():
                    await self.refresh()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.config.refresh_seconds)
        finally:
            await http.stop()
            if self._conn is not None:
                await self._conn.close()
        return self.refreshes

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(
            self.config.database_url,
            autocommit=True,
            connect_timeout=db.CONNECT_TIMEOUT_SECONDS,
        )
        try:
            if self.config.database_role is not None:
                await conn.execute(
                    sql.SQL("set role {}").format(sql.Identifier(self.config.database_role))
                )
            for statement in queries.session_settings(
                self.config.statement_timeout_seconds, self.config.lock_timeout_seconds
            ):
                await conn.execute(statement.encode())
        except BaseException:
            await conn.close()
            raise
        self._db_ok = True
        return conn

    async def refresh(self) -> bool:
        """Run every query once and update the snapshot; False when one of them failed."""
        began = time.monotonic()
        if self._conn is None or self._conn.closed:
            try:
                self._conn = await self._connect()
            except psycopg.OperationalError as error:
                self._db_ok = False
                log.error("PostgreSQL unreachable: %s", _first_line(error))
                return False
        s = self.collector.snapshot
        complete = True
        for query in queries.ALL:
            try:
                row = await self._one(query)
            except psycopg.Error as error:
                self._failed(query, error)
                complete = False
                if self._conn.broken or self._conn.closed:
                    # The connection is lost (not a timeout): reopened at the next refresh.
                    self._db_ok = False
                    await self._drop_connection()
                    return False
                continue  # a statement or lock timeout: the next query runs all the same
            self._store(query, row)
        self._db_ok = True
        if complete:
            s.refreshed_at = time.time()
            s.refresh_seconds = time.monotonic() - began
            self.refreshes += 1
        return complete

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def _one(self, query: queries.Query) -> tuple[Any, ...] | None:
        assert self._conn is not None
        try:
            cursor = await self._conn.execute(query.sql.encode())
        except errors.UndefinedTable:
            return None  # not built yet (dbt models before the first build): nothing to count
        return await cursor.fetchone()

    def _failed(self, query: queries.Query, error: psycopg.Error) -> None:
        errors_seen = self.collector.snapshot.query_errors
        errors_seen[query.name] = errors_seen.get(query.name, 0) + 1
        log.warning("query %s failed (its value is kept): %s", query.name, _first_line(error))

    def _store(self, query: queries.Query, row: tuple[Any, ...] | None) -> None:
        s = self.collector.snapshot
        value = row[0] if row is not None else None
        if query is queries.UNPRICED:
            s.unpriced_events = int(value or 0)
        elif query is queries.EXCLUDED:
            s.excluded_events = int(value or 0)
        elif query is queries.NEGATIVE_MARGIN:
            s.negative_margin_charges = int(value or 0)
        elif query is queries.INVOICES_ISSUED:
            s.invoices_issued = int(value or 0)
        elif query is queries.OUTBOX_BACKLOG:
            s.outbox_backlog = int(value or 0)
        elif query is queries.LAST_CLOSE_RUN:
            if row is None:
                s.last_close_outcome = s.last_close_finished = s.last_close_duration = None
            else:
                s.last_close_outcome = str(row[0])
                s.last_close_finished = float(row[1])
                s.last_close_duration = float(row[2])
        elif query is queries.LAST_CLOSED_PERIOD:
            s.last_closed_period_end = (
                Period.parse(str(value)).end_instant.timestamp() if value else None
            )


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
