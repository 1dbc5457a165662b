"""What the close and preview benchmarks share: a fresh embedded database, generated events,
dbt runs with their per-model figures, timing and the console.

Events are generated with generate_series straight into raw.message_charged (not the loader):
deterministic, 0.1% duplicate landings (same payload), segments mostly 1-3 with a long tail,
10 operators, both directions, spread over the seconds of one month.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from rich.console import Console

from billing import db, localservices
from producers.sample import CURRENCIES, OPERATORS, TIERS, sample_tenant_id
from warehouse.transform import run_dbt

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
# Wide tables stay readable in a log file (rich assumes 80 columns without a terminal).
console = Console(width=None if sys.stdout.isatty() else 120)
CHUNK = 1_000_000
T = TypeVar("T")


def month_bounds(month: str) -> tuple[date, date]:
    year, number = int(month[:4]), int(month[5:7])
    start = date(year, number, 1)
    end = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return start, end


def next_month(month: str) -> str:
    _, end = month_bounds(month)
    return f"{end.year:04d}-{end.month:02d}"


def previous_month(month: str) -> str:
    start, _ = month_bounds(month)
    last_day = start - timedelta(days=1)
    return f"{last_day.year:04d}-{last_day.month:02d}"


def timed(label: str, action: Callable[[], T]) -> tuple[float, T]:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {label} ...")
    started = time.perf_counter()
    value = action()
    seconds = time.perf_counter() - started
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {label}: {seconds:.1f} s")
    return seconds, value


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


# --- a fresh database ------------------------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    """One fresh embedded PostgreSQL (and NATS), migrated and seeded, under `state_dir`."""

    state_dir: Path
    database_url: str
    nats_url: str

    @property
    def target(self) -> Path:
        """dbt's target folder of this run (run_results.json, compiled SQL)."""
        return self.state_dir / "dbt-target"


@contextmanager
def fresh_bench(prefix: str, tenants: int, *, keep: bool = False) -> Iterator[Bench]:
    """Start embedded services in a new temporary folder, migrate, seed, add the tenants;
    stop and remove everything afterwards (unless `keep`)."""
    state_dir = Path(tempfile.mkdtemp(prefix=prefix))
    console.print(f"state under {state_dir}")
    state = localservices.start(state_dir)
    try:
        bench = Bench(state_dir, state.database_url, state.nats_url)
        db.migrate(bench.database_url)
        run_dbt(["seed"], bench.database_url, target_path=bench.target)
        add_tenants(bench.database_url, tenants)
        yield bench
    finally:
        localservices.stop(state_dir)
        if not keep:
            shutil.rmtree(state_dir, ignore_errors=True)


def database_bytes(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select pg_database_size(current_database())").fetchone()
    return int(str(row[0])) if row else 0


# --- data ------------------------------------------------------------------------------------


def add_tenants(url: str, tenants: int) -> None:
    """Accounts and tiers of tenants 0..T-1: every tier x currency, active all year."""
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            "copy ref.accounts (tenant_id, name, currency, billing_email, activated_on) from stdin"
        ) as copy:
            for index in range(tenants):
                copy.write_row(
                    (
                        sample_tenant_id(index),
                        f"Bench tenant {index:05d}",
                        CURRENCIES[index % len(CURRENCIES)],
                        f"ap-{index:05d}@bench.example",
                        date(2025, 1, 1),
                    )
                )
        with conn.cursor().copy(
            "copy ref.account_tiers (tenant_id, account_tier, effective_from) from stdin"
        ) as copy:
            for index in range(tenants):
                tier = TIERS[(index // len(CURRENCIES)) % len(TIERS)]
                copy.write_row((sample_tenant_id(index), tier, date(2025, 1, 1)))
        conn.execute(
            "create table public.bench_tenants as"
            " select (row_number() over (order by tenant_id)) - 1 as n, tenant_id"
            " from ref.accounts"
        )


def add_events(url: str, month: str, first: int, count: int, tenants: int) -> None:
    """Events first..first+count-1 (stream sequences), spread over the month's seconds.

    Every 1000th landing re-publishes the previous event of the same call (same event_id,
    same payload); never one of an earlier call, which may be of another month (another
    occurred_at under the same event_id: a conflict, not a duplicate).
    """
    start, end = month_bounds(month)
    seconds = (end - start).days * 86400
    operators = "array[" + ",".join(f"'{operator}'" for operator in OPERATORS) + "]"
    statement = f"""
        insert into raw.message_charged (
            stream_sequence, subject, event_id, event_type, occurred_at, tenant_id, message_id,
            operator_id, direction, segments, country, payload
        )
        select
            s,
            'billing.message.charged.v1',
            event_id,
            'billing.message.charged.v1',
            occurred_at,
            tenant_id,
            message_id,
            operator_id,
            direction,
            segments,
            null,
            jsonb_build_object(
                'event_id', event_id, 'event_type', 'billing.message.charged.v1',
                'occurred_at', occurred_at, 'tenant_id', tenant_id, 'message_id', message_id,
                'operator_id', operator_id, 'direction', direction, 'segments', segments
            )
        from (
            select
                s,
                md5('bench-' || src)::uuid as event_id,
                timestamptz '{start.isoformat()} 00:00:00+00'
                    + ((src * 2654435761) %% {seconds}) * interval '1 second' as occurred_at,
                tenants.tenant_id,
                'm-' || src as message_id,
                ({operators})[1 + ((src * 31) %% {len(OPERATORS)})] as operator_id,
                case when src %% 4 = 0 then 'inbound' else 'outbound' end as direction,
                case when src %% 997 = 0 then 40 + (src %% 200)::int else 1 + (src %% 3)::int end
                    as segments
            from (
                select s, case when s %% 1000 = 0 and s > {first} then s - 1 else s end as src
                from generate_series(%s::bigint, %s::bigint) as s
            ) as series
            inner join public.bench_tenants as tenants
                on tenants.n = (series.src * 7919) %% {tenants}
        ) as generated
    """
    with psycopg.connect(url, autocommit=True) as conn:
        for low in range(first, first + count, CHUNK):
            high = min(first + count - 1, low + CHUNK - 1)
            conn.execute(statement.encode(), (low, high))
        conn.execute("vacuum (analyze) raw.message_charged")


def last_sequence(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select coalesce(max(stream_sequence), 0) from raw.message_charged"
        ).fetchone()
    return int(str(row[0])) if row else 0


# --- dbt -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRun:
    """One node of a dbt run: its execution seconds, materialization and rows written."""

    seconds: float
    materialized: str
    rows: int | None  # None: not reported (views, tests)

    def as_json(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "materialized": self.materialized, "rows": self.rows}


def read_run_results(target: Path) -> dict[str, ModelRun]:
    """The nodes of the last dbt command that wrote `target` (run_results + manifest)."""
    results = json.loads((target / "run_results.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    nodes: dict[str, ModelRun] = {}
    for result in results["results"]:
        unique_id = result["unique_id"]
        node = manifest["nodes"].get(unique_id, {})
        rows = (result.get("adapter_response") or {}).get("rows_affected")
        nodes[unique_id.split(".")[-1]] = ModelRun(
            seconds=float(result["execution_time"]),
            materialized=str(node.get("config", {}).get("materialized", node.get("resource_type"))),
            rows=int(rows) if isinstance(rows, int) and rows >= 0 else None,
        )
    return nodes


def dbt(arguments: list[str], url: str, month: str, target: Path) -> dict[str, ModelRun]:
    """Run dbt; returns each node's figures (run_results.json)."""
    run_dbt(arguments, url, period=month, target_path=target)
    return read_run_results(target)


def seconds_of(nodes: dict[str, ModelRun]) -> dict[str, float]:
    return {name: node.seconds for name, node in nodes.items()}


# --- what a close issued, for comparing two versions of the code ------------------------------


ISSUED_INVOICES = """
    with invoices as (
        select * from billing.issued_invoices where period = %(month)s
    ),

    recorded as (
        select events.invoice_number, events.line_number, count(*) as events_recorded
        from billing.issued_invoice_events as events
        inner join invoices on events.invoice_number = invoices.invoice_number
        group by events.invoice_number, events.line_number
    )

    select
        invoices.invoice_number, invoices.tenant_id, invoices.currency, invoices.subtotal,
        invoices.total, invoices.line_count, invoices.replaces_invoice_number,
        lines.line_number, lines.line_type, lines.description, lines.usage_period,
        lines.operator_id, lines.direction, lines.account_tier, lines.rule_id, lines.fee_id,
        lines.quantity, lines.unit_price, lines.amount, lines.service_start, lines.service_end,
        lines.period_days, coalesce(recorded.events_recorded, 0) as events_recorded
    from invoices
    inner join billing.issued_invoice_lines as lines
        on invoices.invoice_number = lines.invoice_number
    left join recorded
        on lines.invoice_number = recorded.invoice_number
        and lines.line_number = recorded.line_number
    order by invoices.invoice_number, lines.line_number
"""


def issued_digest(url: str, month: str, path: Path) -> str:
    """Write the month's issued invoices, line by line with the events each line recorded, as
    CSV to `path`; return its sha256 (two versions of the code issued the same invoices when
    the digests are equal)."""
    import csv
    import hashlib

    with psycopg.connect(url) as conn:
        cursor = conn.execute(ISSUED_INVOICES, {"month": month})
        header = [column.name for column in cursor.description or []]
        rows = cursor.fetchall()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(header)
        writer.writerows(rows)
    return hashlib.sha256(path.read_bytes()).hexdigest()
