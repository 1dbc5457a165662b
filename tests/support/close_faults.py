"""Helpers of the close-side fault scenarios (tests/fault/test_close_faults.py, issue 18).

They land a month of events (with duplicates and rejected messages, on contiguous stream
sequences, as the loader would), start the close's real processes (`dbt`, `billing invoices
render | publish`) and SIGKILL them at a chosen point, and check the end state independently
of the ledger: every sent event billed once, numbers gapless, one document and one event per
invoice. The ledger's own reconciliation (finance/ledger.py) is printed beside it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import psycopg

from billing import db
from billing.periods import Period
from billing.roles import Role
from billing.settings import Issuer, TaxStatement
from finance.ledger import Reconciliation, reconcile
from tests.support.billing_data import CHARGED, Event, add_account
from tests.support.cli import BILLING
from tests.support.coverage import subprocess_environment
from warehouse.transform import (
    DBT_PROJECT_DIR,
    dbt_environment,
    dbt_executable,
    issue_arguments,
    period_vars,
)

# FAULT_SCALE=10 runs every scenario with ten times the tenants and events.
FAULT_SCALE = max(1, int(os.environ.get("FAULT_SCALE", "1")))
TIMEOUT_SECONDS = 240.0


def tenants(count: int) -> list[uuid.UUID]:
    return [uuid.UUID(f"f0000000-0000-4000-8000-{index:012d}") for index in range(1, count + 1)]


def add_accounts(database_url: str, tenant_ids: Iterable[uuid.UUID]) -> None:
    with psycopg.connect(database_url) as conn:
        for tenant_id in tenant_ids:
            add_account(conn, tenant_id, currency="EUR", tier="starter")


def month_events(
    tenant_ids: Sequence[uuid.UUID], period: str, per_tenant: int, *, day_offset: int = 0
) -> list[Event]:
    """`per_tenant` priced events of each tenant in `period`, spread over its days."""
    start = datetime.fromisoformat(f"{period}-01T08:00:00").replace(tzinfo=UTC)
    return [
        Event(
            tenant_id,
            start + timedelta(days=(index + day_offset) % 27, minutes=index),
            "orange_fr" if index % 2 else "sfr_fr",
            "outbound",
            1 + index % 3,
        )
        for tenant_id in tenant_ids
        for index in range(per_tenant)
    ]


@dataclass
class Sent:
    """What the scenario put on the stream: distinct events, re-publishes, rejects."""

    events: dict[uuid.UUID, Event] = field(default_factory=dict)
    duplicates: int = 0
    rejected: int = 0

    @property
    def messages(self) -> int:
        return len(self.events) + self.duplicates + self.rejected


def land(
    database_url: str,
    sent: Sent,
    events: Sequence[Event],
    *,
    duplicate_every: int = 0,
    reject_every: int = 0,
) -> None:
    """Land events as the loader does: contiguous stream sequences after the last one, every
    `duplicate_every`-th event published twice, a rejected message every `reject_every`."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "select greatest((select max(stream_sequence) from raw.message_charged),"
            " (select max(stream_sequence) from raw.rejected_messages), 0)"
        ).fetchone()
        sequence = int(row[0]) if row else 0
        landed: list[tuple[int, Event]] = []
        rejects: list[int] = []
        for index, event in enumerate(events, start=1):
            sequence += 1
            landed.append((sequence, event))
            sent.events[event.event_id] = event
            if duplicate_every and index % duplicate_every == 0:
                sequence += 1
                landed.append((sequence, event))
                sent.duplicates += 1
            if reject_every and index % reject_every == 0:
                sequence += 1
                rejects.append(sequence)
                sent.rejected += 1
        with conn.cursor().copy(
            "copy raw.message_charged (stream_sequence, subject, event_id, event_type,"
            " occurred_at, tenant_id, message_id, operator_id, direction, segments, payload)"
            " from stdin"
        ) as copy:
            for stream_sequence, event in landed:
                copy.write_row(
                    (
                        stream_sequence,
                        CHARGED,
                        event.event_id,
                        CHARGED,
                        event.occurred_at,
                        event.tenant_id,
                        event.message_id,
                        event.operator_id,
                        event.direction,
                        event.segments,
                        json.dumps(event.payload()),
                    )
                )
        for stream_sequence in rejects:
            conn.execute(
                "insert into raw.rejected_messages (stream_sequence, subject, payload, reason)"
                " values (%s, %s, %s, %s)",
                (stream_sequence, CHARGED, b"{not json", "not JSON: expecting property name"),
            )


@dataclass(frozen=True)
class Killed:
    """A process of the close killed with SIGKILL once `when` said so (or it ended first)."""

    name: str
    killed: bool  # False: it finished before the kill point came
    returncode: int
    output: str


def _popen(command: list[str], environment: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **subprocess_environment(), **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: the kill takes its children too
    )


def kill_when(
    name: str,
    process: subprocess.Popen[str],
    when: Callable[[str], bool],
    *,
    poll_seconds: float = 0.02,
) -> Killed:
    """SIGKILL `process` (and its group) as soon as `when(output so far)` is true."""
    output: list[str] = []
    stream: IO[str] | None = process.stdout

    def read() -> None:
        assert stream is not None
        for line in stream:
            output.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    killed = False
    while process.poll() is None and time.monotonic() < deadline:
        if when("".join(output)):
            os.killpg(process.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(poll_seconds)
    if process.poll() is None and not killed:  # bounded: never hang the suite
        os.killpg(process.pid, signal.SIGKILL)
        killed = True
    process.wait(timeout=30)
    reader.join(timeout=10)
    return Killed(name, killed, process.returncode, "".join(output))


def dbt_process(
    database_url: str, target_path: Path, arguments: list[str], period: str
) -> subprocess.Popen[str]:
    """The real `dbt` command of the close, as a process of its own."""
    return _popen(
        [dbt_executable(), *arguments, *period_vars(period)],
        dbt_environment(database_url, target_path=target_path),
        DBT_PROJECT_DIR,
    )


def issue_process(database_url: str, target_path: Path, period: str) -> subprocess.Popen[str]:
    """The close's issue step: `dbt run-operation issue_invoices` (one transaction)."""
    return dbt_process(
        database_url,
        target_path,
        ["run-operation", "issue_invoices", *issue_arguments(Issuer(), TaxStatement())],
        period,
    )


def billing_process(arguments: list[str], environment: dict[str, str]) -> subprocess.Popen[str]:
    """The real `billing` command, as a process of its own."""
    inherited = {name for name in os.environ if name.startswith("BILLING_")}
    clean = {name: value for name, value in os.environ.items() if name not in inherited}
    return subprocess.Popen(
        [BILLING, *arguments],
        env={**clean, **subprocess_environment(), "COLUMNS": "200", **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def issue_backend_active(database_url: str) -> Callable[[str], bool]:
    """True once a backend is inside the issue transaction (it holds the issue lock)."""

    def active(_: str) -> bool:
        with psycopg.connect(database_url, autocommit=True) as conn:
            row = conn.execute(
                "select count(*) from pg_stat_activity"
                " where datname = current_database() and state = 'active'"
                " and query like %s",
                ("%pg_advisory_xact_lock(hashtext('billing.issue_invoices')%",),
            ).fetchone()
        return bool(row and row[0])

    return active


def terminate_issue_backends(database_url: str) -> int:
    """The database side of a dead close machine: its backend goes too (pg_terminate_backend)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid()"
            " and query like %s",
            ("%billing.issue_invoices%",),
        ).fetchall()
    return len(rows)


@dataclass(frozen=True)
class EndState:
    """What the issued tables, documents and events say, checked against what was sent."""

    lost: int  # sent events of closed months on no non-void invoice (nor written off)
    doubled: int  # events on two non-void invoices
    numbers_gapless: bool
    invoices: int
    documents: int  # invoice documents recorded (one per invoice expected)
    outbox: int  # outbox rows (one per invoice expected)


def end_state(database_url: str, sent: Sent, closed: Sequence[str]) -> EndState:
    with psycopg.connect(database_url) as conn:
        billed: dict[str, int] = {}
        for event_id, count in conn.execute(
            "select events.event_id::text, count(*) from billing.issued_invoice_events as events"
            " where not exists (select 1 from billing.invoice_voids as voids"
            " where voids.invoice_number = events.invoice_number)"
            " group by events.event_id"
        ):
            billed[event_id] = int(count)
        gapless = all(
            seqs == list(range(1, len(seqs) + 1))
            for seqs in (
                [
                    int(row[0])
                    for row in conn.execute(
                        "select seq from billing.issued_invoices where period = %s order by seq",
                        (period,),
                    )
                ]
                for period in closed
            )
        )
        counts = conn.execute(
            "select (select count(*) from billing.issued_invoices),"
            " (select count(*) from billing.invoice_documents where kind = 'invoice'),"
            " (select count(*) from billing.invoice_outbox)"
        ).fetchone()
    assert counts is not None
    latest = max(closed)
    due = [
        event_id
        for event_id, event in sent.events.items()
        if f"{event.occurred_at:%Y-%m}" <= latest
    ]
    return EndState(
        lost=sum(1 for event_id in due if str(event_id) not in billed),
        doubled=sum(1 for count in billed.values() if count > 1),
        numbers_gapless=gapless,
        invoices=int(counts[0]),
        documents=int(counts[1]),
        outbox=int(counts[2]),
    )


def ledger(database_url: str, period: str) -> Reconciliation:
    """The ledger's reconciliation of `period`, read as Finance reads it."""
    with db.connect(database_url, role=Role.FINANCE) as conn:
        return reconcile(conn, Period.parse(period))


def report(name: str, sent: Sent, faults: int, state: EndState, ledger_line: str) -> str:
    """The line the note of issue 18 takes its figures from (printed by each scenario)."""
    line = (
        f"{name}: sent {sent.messages}, faults {faults}, lost {state.lost}, doubled "
        f"{state.doubled}, ledger: {ledger_line}"
    )
    print(line)
    return line


def published(nats_url: str, stream: str) -> int:
    """Messages in a JetStream stream (0 when it does not exist)."""
    import asyncio

    import nats
    from nats.js.errors import NotFoundError

    async def count() -> int:
        client = await nats.connect(nats_url)
        try:
            return int((await client.jetstream().stream_info(stream)).state.messages)
        except NotFoundError:
            return 0
        finally:
            await client.close()

    return asyncio.run(count())


def documents_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pdf")) if folder.exists() else []


def outputs(*killed: Killed) -> dict[str, Any]:
    """For assertion messages: each killed process's last lines."""
    return {k.name: k.output.strip().splitlines()[-5:] for k in killed}
