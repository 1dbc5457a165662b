"""Month-close benchmark: 10M events, 1,000 tenants (SPEC section 7, issue 19).

From one run, on a fresh embedded PostgreSQL under a temporary folder (never the machine's
5432), it prints:
  1. the dbt build alone (`dbt run`: staging -> intermediate -> marts, drafts of the month),
     with `dbt test` timed beside it;
  2. a hand-written SQL baseline doing the same work (dedup by event_id, the per-event priced
     table materialized, usage and fee lines, drafts), and the dbt/baseline ratio; the
     baseline's draft totals must equal dbt's, to the cent;
  3. an incremental `dbt run` after 1% new events of the same (open) month, rebuilding its
     drafts, and its ratio to the full build, model by model (every model);
  4. the full close through Dagster (raw observation, GX suites, dbt build with tests,
     issue in one transaction), from the same state as 1 (incremental models dropped), timed
     as the job's run (`execute_in_process`; importing Dagster and loading the definitions
     aside), and then a bare insert of the rows the close issued (`create table ... (like
     billing.issued_invoice_events)` + `insert ... select *`, one transaction, no key);
  5. the table "Targets (issue 19)": each target, its measured value, met or MISSED.
PDFs are benchmarked by benchmarks/render.py (add --with-documents to include them here).

With --months N (default 1), months 2..N follow in the same database, each with the same
number of new events, closed through Dagster without dropping anything: the production path,
the incremental models holding every closed month. The first month's close is a close from
nothing (its incremental models dropped: `create table as`, no existing rows to merge
against), a different kind of work from the later ones (new rows appended to tables of
earlier months). So the target "the third consecutive month closes in <= 1.1 x the first"
compares the last month with month 2, the first close of the production kind (with
--months 3: month 3 over month 2, one closed month more in the state; --months 4 makes it
three production closes, month 4 over month 2); the ratio to month 1 is printed beside it.
The default --month is 2026-10 (the catalogue's mid-month price change) when every month of
the run has ended, else the latest month that lets them all end before the current one (a
month can only be closed once over).

With --scale, it runs the core measurements (full dbt build, baseline, incremental after +1%,
close, bare insert) at 1M, 3M, 10M and 30M events (--scale-events to change), each on its own
fresh embedded database, and draws docs/img/close-scale.png (log-log: the sizes are geometric,
a slope of 1 is cost proportional to events, fixed costs show as a flattening at the small
end) beside benchmarks/results/close-scale.json.

Events come from benchmarks/common.py (generate_series into raw.message_charged).

With --plans, it also writes the query plans (EXPLAIN ANALYZE, BUFFERS) of the slowest models
and of the matching baseline step to benchmarks/results/close-plans.txt: the full build's
staging, pricing and draft lines, and the incremental run's draft lines and margins.

Usage: python benchmarks/close.py [--events 10000000] [--tenants 1000] [--month 2026-10]
       [--months 1] [--plans] [--with-documents]
       python benchmarks/close.py --scale [--scale-events 1000000,3000000,10000000,30000000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from common import (
    RESULTS,
    ROOT,
    Bench,
    ModelRun,
    add_events,
    console,
    database_bytes,
    dbt,
    fresh_bench,
    issued_digest,
    last_sequence,
    month_bounds,
    next_month,
    previous_month,
    seconds_of,
    timed,
    verdict,
)
from rich.table import Table

INCREMENTAL_MODELS = (
    "staging.stg_raw__message_charged",
    "intermediate.int_charges_priced",
    "billing.margins",
)
DEFAULT_MONTH = "2026-10"
SCALE_EVENTS = (1_000_000, 3_000_000, 10_000_000, 30_000_000)
SCALE_CHART = ROOT / "docs" / "img" / "close-scale.png"
# The targets of issue 19 (SPEC section 7).
CLOSE_LIMIT_SECONDS = 60.0
CLOSE_OVER_FLOOR = 1.3
DBT_OVER_BASELINE = 1.2
CHECKS_OVER_BUILD = 0.25
INCREMENTAL_OVER_FULL = 0.05
ISSUE_LIMIT_SECONDS = 10.0
LAST_MONTH_OVER_FIRST = 1.1


def drop_incremental_models(url: str) -> None:
    """Drop the incremental models, so the next build starts from nothing (as a first close)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for relation in INCREMENTAL_MODELS:
            conn.execute(f"drop table if exists {relation} cascade")


# --- baseline ----------------------------------------------------------------------------------


BASELINE_STEPS = (
    (
        "tier ranges (the tier history as validity ranges)",
        """
        create table bench.tier_ranges as
        select
            tenant_id, account_tier, effective_from,
            lead(effective_from) over (partition by tenant_id order by effective_from)
                as effective_to
        from ref.account_tiers
        """,
    ),
    (
        "dedup by event_id (earliest landing)",
        """
        create table bench.events as
        select distinct on (event_id)
            stream_sequence, event_id, tenant_id, operator_id, direction, segments, occurred_at,
            cast(occurred_at at time zone 'UTC' as date) as occurred_on
        from raw.message_charged
        order by event_id, stream_sequence
        """,
    ),
    (
        "per-event priced table",
        """
        create table bench.priced as
        select
            events.*, accounts.currency, tiers.account_tier, rules.rule_id, rules.unit_price,
            costs.cost_id, costs.unit_cost,
            events.segments * rules.unit_price as amount,
            events.segments * costs.unit_cost as cost_amount,
            to_char(events.occurred_on, 'YYYY-MM') as period
        from bench.events as events
        left join ref.accounts as accounts on events.tenant_id = accounts.tenant_id
        left join bench.tier_ranges as tiers
            on events.tenant_id = tiers.tenant_id
            and events.occurred_on >= tiers.effective_from
            and (tiers.effective_to is null or events.occurred_on < tiers.effective_to)
        left join catalogue.pricing_rules as rules
            on tiers.account_tier = rules.account_tier
            and events.operator_id = rules.operator_id
            and events.direction = rules.direction
            and accounts.currency = rules.currency
            and events.occurred_on >= rules.effective_from
            and (rules.effective_to is null or events.occurred_on < rules.effective_to)
        left join catalogue.operator_costs as costs
            on events.operator_id = costs.operator_id
            and events.direction = costs.direction
            and accounts.currency = costs.currency
            and events.occurred_on >= costs.effective_from
            and (costs.effective_to is null or events.occurred_on < costs.effective_to)
        """,
    ),
    (
        "usage lines of the month",
        """
        create table bench.usage_lines as
        select
            tenant_id, currency, operator_id, direction, rule_id, unit_price,
            sum(segments) as quantity, count(*) as event_count,
            round(sum(segments) * unit_price, 2) as amount
        from bench.priced
        where period = %(month)s and rule_id is not null and cost_id is not null
        group by tenant_id, currency, operator_id, direction, rule_id, unit_price
        """,
    ),
    (
        "subscription fee lines",
        """
        create table bench.fee_lines as
        with days as (
            select cast(day as date) as day
            from generate_series(
                cast(%(start)s as date), cast(%(end)s as date) - 1, interval '1 day'
            ) as day
        )
        select
            accounts.tenant_id, accounts.currency, fees.fee_id, fees.monthly_fee,
            count(*) as active_days,
            round(fees.monthly_fee * count(*) / %(days)s, 2) as amount
        from ref.accounts as accounts
        inner join days
            on days.day >= accounts.activated_on
            and (accounts.deactivated_on is null or days.day < accounts.deactivated_on)
        inner join bench.tier_ranges as tiers
            on accounts.tenant_id = tiers.tenant_id
            and days.day >= tiers.effective_from
            and (tiers.effective_to is null or days.day < tiers.effective_to)
        inner join catalogue.tier_fees as fees
            on tiers.account_tier = fees.account_tier
            and accounts.currency = fees.currency
            and days.day >= fees.effective_from
            and (fees.effective_to is null or days.day < fees.effective_to)
        group by accounts.tenant_id, accounts.currency, tiers.account_tier, fees.fee_id,
            fees.monthly_fee
        """,
    ),
    (
        "drafts",
        """
        create table bench.drafts as
        select tenant_id, currency, sum(amount) as subtotal, count(*) as line_count
        from (
            select tenant_id, currency, amount from bench.usage_lines
            union all
            select tenant_id, currency, amount from bench.fee_lines
        ) as lines
        group by tenant_id, currency
        """,
    ),
)


def baseline(url: str, month: str) -> dict[str, float]:
    """The hand-written close; returns seconds per step."""
    start, end = month_bounds(month)
    parameters = {"month": month, "start": start, "end": end, "days": (end - start).days}
    seconds: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists bench cascade")
        conn.execute("create schema bench")
        for label, statement in BASELINE_STEPS:
            started = time.perf_counter()
            conn.execute(statement.encode(), parameters if "%(" in statement else None)
            seconds[label] = time.perf_counter() - started
    return seconds


def compare_drafts(url: str, month: str) -> tuple[int, int, str]:
    """(drafts, mismatches, grand total): baseline drafts against dbt's invoice_drafts."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """
            select
                count(*),
                count(*) filter (
                    where bench.subtotal is distinct from dbt.subtotal
                    or bench.line_count is distinct from dbt.line_count
                ),
                coalesce(sum(dbt.subtotal), 0)
            from bench.drafts as bench
            full join (select * from billing.invoice_drafts where period = %s) as dbt
                on bench.tenant_id = dbt.tenant_id
            """,
            (month,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), str(row[2])


# --- query plans -----------------------------------------------------------------------------

PLANNED_MODELS = {
    "full": ("stg_raw__message_charged", "int_charges_priced", "invoice_draft_lines"),
    "incremental": ("invoice_draft_lines", "margins"),
}


def compiled_model(target: Path, model: str) -> str:
    """The compiled SELECT of a model, as the last dbt command compiled it."""
    (path,) = (
        found
        for found in (target / "compiled" / "billing" / "models").glob(f"**/{model}.sql")
        if not found.parent.name.endswith(".yml")  # its tests, compiled beside it
    )
    return path.read_text()


def explain(url: str, statement: str) -> str:
    """EXPLAIN ANALYZE of a SELECT (run, not written anywhere)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            b"explain (analyze, buffers, format text) " + statement.encode()
        ).fetchall()
    return "\n".join(str(row[0]) for row in rows)


def write_plans(url: str, target: Path, run: str, month: str, sink: list[str]) -> None:
    for model in PLANNED_MODELS[run]:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] plan of {model} ({run}) ...")
        plan = explain(url, compiled_model(target, model))
        sink.append(f"==== {model}, {run} build ====\n{plan}")


def write_baseline_plans(url: str, month: str, sink: list[str]) -> None:
    """Plans of the baseline's per-event steps (after it ran: each reads the previous table)."""
    start, end = month_bounds(month)
    literals = {"month": f"'{month}'", "start": f"'{start}'", "end": f"'{end}'"}
    for label, statement in BASELINE_STEPS:
        if not label.startswith(("dedup", "per-event", "usage")):
            continue
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] plan of baseline: {label} ...")
        select = statement.split(" as\n", 1)[1] % literals
        sink.append(f"==== baseline: {label} ====\n{explain(url, select)}")


def drop_baseline_tables(url: str) -> None:
    """The baseline's per-event tables, once compared (they are the size of the month)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop table if exists bench.events, bench.priced")


# --- the close through Dagster ---------------------------------------------------------------


@dataclass(frozen=True)
class CloseRun:
    """One close through Dagster: the job's run seconds and each step's."""

    month: str
    seconds: float
    steps: dict[str, float]
    # The dbt build's nodes (models, seeds, tests), from its run_results.json.
    nodes: dict[str, ModelRun] = field(default_factory=dict)

    @property
    def gx_seconds(self) -> float:
        """The GX suites' steps (asset checks: raw events, drafts, issued invoices)."""
        return sum(seconds for step, seconds in self.steps.items() if "suite" in step)

    @property
    def issue_seconds(self) -> float:
        """The step that issues the invoices (the issued_invoices asset, not its suite)."""
        issue = [
            s for step, s in self.steps.items() if "issued_invoices" in step and "suite" not in step
        ]
        if len(issue) != 1:
            raise SystemExit(f"no single issue step among the close's steps: {sorted(self.steps)}")
        return issue[0]


def dagster_close(bench: Bench, month: str, with_documents: bool) -> CloseRun:
    """The monthly_close job in process; seconds of the run and of each step."""
    warnings.simplefilter("ignore")
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.defs.close.schedules import CLOSE_JOB_NAME
    from orchestration.defs.documents.assets import INVOICE_DOCUMENTS, INVOICE_EVENTS
    from orchestration.defs.resources import BillingResource

    defs = build_definitions(
        BillingResource(
            database_url=bench.database_url,
            nats_url=bench.nats_url,
            state_dir=str(bench.state_dir),
            documents_uri=(bench.state_dir / "documents").as_uri(),
        )
    )
    job = defs.resolve_job_def(CLOSE_JOB_NAME)
    graph = defs.resolve_asset_graph()
    skipped = () if with_documents else (INVOICE_DOCUMENTS, INVOICE_EVENTS)
    # The close job's own assets (not, say, the open month's preview), documents aside.
    selection = [
        key
        for key in job.asset_layer.selected_asset_keys
        if key not in skipped and (graph.get(key).is_materializable or graph.get(key).is_observable)
    ]
    log = bench.state_dir / f"dagster-close-{month}.log"
    with log.open("w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        started = time.perf_counter()
        result = job.execute_in_process(
            partition_key=f"{month}-01",
            raise_on_error=False,
            asset_selection=selection,
            instance=dg.DagsterInstance.ephemeral(),
        )
        seconds = time.perf_counter() - started
    if not result.success:
        failures = [str(event.message) for event in result.all_events if event.is_failure]
        raise SystemExit(f"the close of {month} failed: {failures[:3]} (log: {log})")
    steps = {
        str(event.step_key): event.step_success_data.duration_ms / 1000
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_SUCCESS
    }
    return CloseRun(month, seconds, steps, build_nodes(result.all_events))


def build_nodes(events: Sequence[Any]) -> dict[str, ModelRun]:
    """The dbt build's models and tests as the close reported them (dagster-dbt's metadata
    of each materialization and check: unique_id, Execution Duration). The build's own
    run_results.json is overwritten by the issue step, which runs in the same folder."""
    import dagster as dg

    nodes: dict[str, ModelRun] = {}
    for event in events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            metadata = event.step_materialization_data.materialization.metadata
            kind = "model"
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            metadata = event.event_specific_data.metadata
            kind = "test"
        else:
            continue
        unique_id, duration = metadata.get("unique_id"), metadata.get("Execution Duration")
        if unique_id is None or duration is None:
            continue
        # model.billing.NAME, test.billing.NAME.HASH
        name = str(unique_id.value).split(".")[2]
        nodes[name] = ModelRun(float(duration.value), kind, None)
    return nodes


def bare_insert(url: str) -> tuple[float, int]:
    """Seconds to write the issued event rows once more into a bare table (columns only, no
    key or index; created and filled in one transaction), and the row count."""
    with psycopg.connect(url) as conn:
        conn.execute("drop table if exists bench.bare_issued")
        conn.commit()
        started = time.perf_counter()
        conn.execute("create table bench.bare_issued (like billing.issued_invoice_events)")
        cursor = conn.execute(
            "insert into bench.bare_issued select * from billing.issued_invoice_events"
        )
        conn.commit()
        seconds = time.perf_counter() - started
    return seconds, cursor.rowcount


def issued_per_period(url: str) -> dict[str, int]:
    """Issued invoices per period."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select period, count(*) from billing.issued_invoices group by period order by period"
        ).fetchall()
    return {str(period): int(str(count)) for period, count in rows}


# --- one month's measurements ----------------------------------------------------------------


@dataclass
class MonthRun:
    """The figures of one month measured from an empty database."""

    events: int
    tenants: int
    month: str
    generate_seconds: float = 0.0
    run_seconds: float = 0.0
    run_nodes: dict[str, ModelRun] = field(default_factory=dict)
    test_seconds: float | None = None
    baseline_seconds: float = 0.0
    baseline_steps: dict[str, float] = field(default_factory=dict)
    drafts: int = 0
    mismatches: int = 0
    grand_total: str = "0"
    new_events: int = 0
    incremental_seconds: float = 0.0
    incremental_nodes: dict[str, ModelRun] = field(default_factory=dict)
    close: CloseRun | None = None
    bare_insert_seconds: float = 0.0
    issued_event_rows: int = 0
    issued_sha256: str = ""
    database_bytes: int = 0

    @property
    def closed(self) -> CloseRun:
        assert self.close is not None
        return self.close

    @property
    def floor_seconds(self) -> float:
        """The hand-written reference of the close: baseline build + bare insert of its rows."""
        return self.baseline_seconds + self.bare_insert_seconds

    def as_json(self) -> dict[str, Any]:
        close = self.closed
        return {
            "events": self.events,
            "tenants": self.tenants,
            "month": self.month,
            "generate_seconds": self.generate_seconds,
            "dbt_run_seconds": self.run_seconds,
            "dbt_test_seconds": self.test_seconds,
            "baseline_seconds": self.baseline_seconds,
            "new_events": self.new_events,
            "incremental_seconds": self.incremental_seconds,
            "close_seconds": close.seconds,
            "close_steps": close.steps,
            "close_gx_seconds": close.gx_seconds,
            "close_issue_seconds": close.issue_seconds,
            "bare_insert_seconds": self.bare_insert_seconds,
            "issued_event_rows": self.issued_event_rows,
            "issued_sha256": self.issued_sha256,
            "dbt_models": seconds_of(self.run_nodes),
            "dbt_models_incremental": seconds_of(self.incremental_nodes),
            "dbt_model_runs": {name: node.as_json() for name, node in self.run_nodes.items()},
            "dbt_model_runs_incremental": {
                name: node.as_json() for name, node in self.incremental_nodes.items()
            },
            "baseline_steps": self.baseline_steps,
            "drafts": self.drafts,
            "draft_mismatches": self.mismatches,
            "draft_total": self.grand_total,
            "database_bytes": self.database_bytes,
        }


def measure_month(
    bench: Bench,
    events: int,
    tenants: int,
    month: str,
    *,
    with_tests: bool = True,
    with_documents: bool = False,
    plans: list[str] | None = None,
) -> MonthRun:
    """Generate a month of events, then: full dbt run, dbt test (with_tests), baseline, +1%,
    incremental run, the close from nothing, the bare insert of its issued rows."""
    url, target = bench.database_url, bench.target
    run = MonthRun(events, tenants, month)
    run.generate_seconds, _ = timed(
        f"generate {events:,} events", lambda: add_events(url, month, 1, events, tenants)
    )
    run.run_seconds, run.run_nodes = timed(
        "dbt run (full build)", lambda: dbt(["run"], url, month, target)
    )
    if plans is not None:
        write_plans(url, target, "full", month, plans)
    if with_tests:
        run.test_seconds, _ = timed("dbt test", lambda: dbt(["test"], url, month, target))
    run.baseline_seconds, run.baseline_steps = timed("baseline SQL", lambda: baseline(url, month))
    run.drafts, run.mismatches, run.grand_total = compare_drafts(url, month)
    if plans is not None:
        write_baseline_plans(url, month, plans)
    drop_baseline_tables(url)

    run.new_events = events // 100
    timed(
        f"add {run.new_events:,} events (1%)",
        lambda: add_events(url, month, events + 1, run.new_events, tenants),
    )
    run.incremental_seconds, run.incremental_nodes = timed(
        "dbt run (incremental)", lambda: dbt(["run"], url, month, target)
    )
    if plans is not None:
        write_plans(url, target, "incremental", month, plans)

    drop_incremental_models(url)
    _, run.close = timed(
        f"close of {month} through Dagster", lambda: dagster_close(bench, month, with_documents)
    )
    issued_csv = RESULTS / f"issued-{month}-{events}-events.csv"
    run.issued_sha256 = issued_digest(url, month, issued_csv)
    console.print(f"issued invoices of {month}: {issued_csv}, sha256 {run.issued_sha256}")
    run.bare_insert_seconds, run.issued_event_rows = bare_insert(url)
    console.print(
        f"bare insert of the {run.issued_event_rows:,} issued event rows:"
        f" {run.bare_insert_seconds:.1f} s"
    )
    run.database_bytes = database_bytes(url)
    return run


# --- consecutive months ----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthClose:
    month: str
    kind: str
    close: CloseRun
    generate_seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "kind": self.kind,
            "generate_seconds": self.generate_seconds,
            "close_seconds": self.close.seconds,
            "close_steps": self.close.steps,
            "close_nodes": {name: node.as_json() for name, node in self.close.nodes.items()},
        }


def consecutive_months(
    bench: Bench, first: MonthRun, months: int, with_documents: bool
) -> list[MonthClose]:
    """Months 2..N after the first: each month's events, then its close, nothing dropped."""
    closes = [MonthClose(first.month, "from nothing", first.closed, first.generate_seconds)]
    month = first.month
    for number in range(2, months + 1):
        month = next_month(month)
        sequence = last_sequence(bench.database_url) + 1
        generate_seconds, _ = timed(
            f"generate {first.events:,} events of {month}",
            partial(add_events, bench.database_url, month, sequence, first.events, first.tenants),
        )
        _, close = timed(
            f"close of {month} (month {number}) through Dagster",
            partial(dagster_close, bench, month, with_documents),
        )
        closes.append(
            MonthClose(month, f"production, {number - 1} closed before", close, generate_seconds)
        )
    return closes


def months_ratio(closes: list[MonthClose]) -> float | None:
    """The last month's close over month 2's (the first of the same kind); None under 3."""
    if len(closes) < 3:
        return None
    return closes[-1].close.seconds / closes[1].close.seconds


def months_table(closes: list[MonthClose], issued: dict[str, int]) -> Table:
    table = Table(title="Consecutive months: close through Dagster (seconds)")
    for column in ("month", "kind", "close", "dbt build", "issue step", "GX", "issued invoices"):
        table.add_column(column, justify="left" if column in ("month", "kind") else "right")
    for row in closes:
        dbt_step = sum(s for step, s in row.close.steps.items() if step.endswith("_dbt"))
        table.add_row(
            row.month,
            row.kind,
            f"{row.close.seconds:.1f}",
            f"{dbt_step:.1f}",
            f"{row.close.issue_seconds:.1f}",
            f"{row.close.gx_seconds:.1f}",
            str(issued.get(row.month, 0)),
        )
    last, first = closes[-1].close.seconds, closes[0].close.seconds
    ratio = months_ratio(closes)
    if ratio is not None:
        table.add_row(
            f"{closes[-1].month} / {closes[1].month}", "last / first of its kind", f"{ratio:.2f}"
        )
    table.add_row(
        f"{closes[-1].month} / {closes[0].month}", "last / from nothing", f"{last / first:.2f}"
    )
    return table


def months_models_table(closes: list[MonthClose], shown: int = 15) -> Table:
    """The close builds' slowest nodes (models and tests), seconds month by month: what grows."""
    table = Table(title="Consecutive months: the close's dbt nodes, seconds (slowest first)")
    table.add_column("node")
    for row in closes:
        table.add_column(row.month, justify="right")
    totals: dict[str, float] = {}
    for row in closes:
        for name, node in row.close.nodes.items():
            totals[name] = max(totals.get(name, 0.0), node.seconds)
    for name in sorted(totals, key=lambda node: -totals[node])[:shown]:
        cells = [row.close.nodes.get(name) for row in closes]
        table.add_row(name, *(f"{cell.seconds:.1f}" if cell else "-" for cell in cells))
    table.add_row(
        "every node",
        *(f"{sum(node.seconds for node in row.close.nodes.values()):.1f}" for row in closes),
    )
    return table


# --- report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    limit: str
    status: str  # met, MISSED, or why it was not measured


def targets(run: MonthRun, closes: list[MonthClose]) -> list[Target]:
    """The targets of issue 19, from this run's figures."""
    close = run.closed
    floor_ratio = close.seconds / run.floor_seconds
    checks = (run.test_seconds or 0.0) + close.gx_seconds
    incremental = run.incremental_seconds / run.run_seconds
    ratio = months_ratio(closes)
    return [
        Target(
            f"close through Dagster, {run.events:,} events (build + checks + issue)",
            f"{close.seconds:.1f} s",
            f"< {CLOSE_LIMIT_SECONDS:.0f} s",
            verdict(close.seconds < CLOSE_LIMIT_SECONDS),
        ),
        Target(
            "close / (baseline + bare insert of the issued rows)",
            f"{floor_ratio:.2f} = {close.seconds:.1f} / ({run.baseline_seconds:.1f}"
            f" + {run.bare_insert_seconds:.1f})",
            f"<= {CLOSE_OVER_FLOOR}",
            verdict(floor_ratio <= CLOSE_OVER_FLOOR),
        ),
        Target(
            "dbt full build / baseline",
            f"{run.run_seconds / run.baseline_seconds:.2f}",
            f"<= {DBT_OVER_BASELINE}",
            verdict(run.run_seconds / run.baseline_seconds <= DBT_OVER_BASELINE),
        ),
        Target(
            "(dbt test + the close's GX suites) / dbt full build",
            f"{checks / run.run_seconds:.2f} = ({run.test_seconds or 0.0:.1f}"
            f" + {close.gx_seconds:.1f}) / {run.run_seconds:.1f}",
            f"<= {CHECKS_OVER_BUILD}",
            verdict(checks / run.run_seconds <= CHECKS_OVER_BUILD)
            if run.test_seconds is not None
            else "not run",
        ),
        Target(
            f"incremental run after +1% ({run.new_events:,}) / full build",
            f"{incremental:.2f}",
            f"<= {INCREMENTAL_OVER_FULL}",
            verdict(incremental <= INCREMENTAL_OVER_FULL),
        ),
        Target(
            "issue step of the close",
            f"{close.issue_seconds:.1f} s",
            f"<= {ISSUE_LIMIT_SECONDS:.0f} s",
            verdict(close.issue_seconds <= ISSUE_LIMIT_SECONDS),
        ),
        Target(
            "third consecutive month's close / the first (month N / month 2)",
            f"{ratio:.2f} = {closes[-1].close.seconds:.1f} / {closes[1].close.seconds:.1f}"
            if ratio is not None
            else "-",
            f"<= {LAST_MONTH_OVER_FIRST}",
            verdict(ratio <= LAST_MONTH_OVER_FIRST)
            if ratio is not None
            else "not run (--months 3)",
        ),
        Target("PDFs", "see benchmarks/render.py", "", "not measured here"),
    ]


def targets_table(rows: list[Target]) -> Table:
    table = Table(title="Targets (issue 19)")
    for column in ("target", "measured", "limit", "status"):
        table.add_column(column)
    for row in rows:
        status = f"[red]{row.status}[/]" if row.status == "MISSED" else row.status
        table.add_row(row.name, row.measured, row.limit, status)
    return table


def figures_table(run: MonthRun) -> Table:
    close = run.closed
    table = Table(title=f"Month close: {run.events:,} events, {run.tenants:,} tenants")
    for column in ("measure", "seconds", "ratio / note"):
        table.add_column(column, justify="left" if column != "seconds" else "right")
    table.add_row(
        "generate events (generate_series, not timed below)", f"{run.generate_seconds:.1f}", ""
    )
    table.add_row("dbt run, full build (models)", f"{run.run_seconds:.1f}", "")
    if run.test_seconds is not None:
        table.add_row("dbt test (data tests, beside)", f"{run.test_seconds:.1f}", "")
    table.add_row("hand-written SQL baseline", f"{run.baseline_seconds:.1f}", "")
    table.add_row(
        "dbt / baseline",
        "",
        f"{run.run_seconds / run.baseline_seconds:.2f} (target <= {DBT_OVER_BASELINE})",
    )
    table.add_row(
        "baseline drafts = dbt drafts",
        "",
        f"{run.drafts} drafts, {run.mismatches} differ, total {run.grand_total}",
    )
    table.add_row(
        f"dbt run after +1% events ({run.new_events:,})", f"{run.incremental_seconds:.1f}", ""
    )
    table.add_row(
        "incremental / full",
        "",
        f"{run.incremental_seconds / run.run_seconds:.2f} (new data: 0.01;"
        f" target <= {INCREMENTAL_OVER_FULL})",
    )
    table.add_row(
        "close through Dagster (build + checks + issue)",
        f"{close.seconds:.1f}",
        f"target < {CLOSE_LIMIT_SECONDS:.0f} s: {verdict(close.seconds < CLOSE_LIMIT_SECONDS)}",
    )
    for step, seconds in close.steps.items():
        table.add_row(f"  step {step}", f"{seconds:.1f}", "")
    table.add_row(
        f"bare insert of the issued event rows ({run.issued_event_rows:,})",
        f"{run.bare_insert_seconds:.1f}",
        "create table (like ...) + insert select, one transaction",
    )
    return table


def models_table(run: MonthRun) -> Table:
    """Every model: full vs incremental seconds and rows written."""
    table = Table(title="dbt models: full build vs incremental after +1% (every model)")
    for column in (
        "model",
        "materialized",
        "full s",
        "incr. s",
        "incr. / full",
        "full rows",
        "incr. rows",
    ):
        table.add_column(column, justify="left" if column in ("model", "materialized") else "right")
    for name, full in sorted(run.run_nodes.items(), key=lambda item: -item[1].seconds):
        incremental = run.incremental_nodes.get(name)
        seconds = incremental.seconds if incremental else 0.0
        table.add_row(
            name,
            full.materialized,
            f"{full.seconds:.2f}",
            f"{seconds:.2f}",
            f"{seconds / full.seconds:.2f}" if full.seconds > 0 else "-",
            f"{full.rows:,}" if full.rows is not None else "-",
            f"{incremental.rows:,}" if incremental and incremental.rows is not None else "-",
        )
    total_full = sum(node.seconds for node in run.run_nodes.values())
    total_incremental = sum(node.seconds for node in run.incremental_nodes.values())
    table.add_row(
        "all models (execution, dbt start-up aside)",
        "",
        f"{total_full:.2f}",
        f"{total_incremental:.2f}",
        f"{total_incremental / total_full:.2f}" if total_full > 0 else "-",
        "",
        "",
    )
    return table


def baseline_table(run: MonthRun) -> Table:
    table = Table(title="Baseline steps (seconds)")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for label, seconds in run.baseline_steps.items():
        table.add_row(label, f"{seconds:.1f}")
    return table


# --- scale -----------------------------------------------------------------------------------


def scale_chart(runs: list[MonthRun], path: Path) -> None:
    """Seconds against events (log-log) for the close, the baseline and the incremental run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    events = [run.events for run in runs]
    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    series = (
        ("close through Dagster (build + checks + issue)", [r.closed.seconds for r in runs], "o-"),
        ("dbt run, full build", [r.run_seconds for r in runs], "s-"),
        ("hand-written baseline (build)", [r.baseline_seconds for r in runs], "^-"),
        ("dbt run after +1% events", [r.incremental_seconds for r in runs], "v-"),
    )
    for label, seconds, style in series:
        axes.plot(events, seconds, style, label=label)
    # Cost proportional to events, through the close's largest point.
    slope = runs[-1].closed.seconds / runs[-1].events
    axes.plot(
        events,
        [slope * count for count in events],
        ":",
        color="grey",
        label="proportional to events",
    )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(events, [f"{count / 1e6:g}M" for count in events])
    axes.set_xlabel("events in the month (log)")
    axes.set_ylabel("seconds (log)")
    axes.set_title(
        f"Month close against events ({runs[0].tenants:,} tenants, 2 cores, "
        f"{datetime.now(UTC):%Y-%m-%d})"
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def scale_table(runs: list[MonthRun]) -> Table:
    table = Table(title="Close against events (seconds; each size on a fresh database)")
    columns = (
        "events", "generate", "dbt run", "baseline", "dbt / base", "incr. +1%", "incr. / full",
        "close", "close / (base + bare)", "database",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    for run in runs:
        table.add_row(
            f"{run.events:,}",
            f"{run.generate_seconds:.1f}",
            f"{run.run_seconds:.1f}",
            f"{run.baseline_seconds:.1f}",
            f"{run.run_seconds / run.baseline_seconds:.2f}",
            f"{run.incremental_seconds:.1f}",
            f"{run.incremental_seconds / run.run_seconds:.2f}",
            f"{run.closed.seconds:.1f}",
            f"{run.closed.seconds / run.floor_seconds:.2f}",
            f"{run.database_bytes / 2**30:.2f} GiB",
        )
    return table


def scale(sizes: list[int], tenants: int, month: str, keep: bool) -> None:
    runs: list[MonthRun] = []
    started = time.perf_counter()
    wall: dict[int, float] = {}
    for events in sizes:
        size_started = time.perf_counter()
        with fresh_bench("billing-bench-scale-", tenants, keep=keep) as bench:
            runs.append(measure_month(bench, events, tenants, month, with_tests=False))
        wall[events] = time.perf_counter() - size_started
        write_json(
            "close-scale.json",
            {
                "tenants": tenants,
                "month": month,
                "runs": [run.as_json() | {"wall_seconds": wall[run.events]} for run in runs],
                "wall_seconds": time.perf_counter() - started,
            },
        )
    console.print(scale_table(runs))
    scale_chart(runs, SCALE_CHART)
    console.print(f"chart: {SCALE_CHART}; figures: {RESULTS / 'close-scale.json'}")
    console.print(
        "wall time per size (generate + measurements + start-up): "
        + ", ".join(f"{events:,}: {seconds:.0f} s" for events, seconds in wall.items())
    )


# --- main ------------------------------------------------------------------------------------


def write_json(name: str, value: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(value, indent=2) + "\n")


def has_ended(month: str, today: datetime) -> bool:
    return month_bounds(month)[1] <= today.date()


def first_month(requested: str | None, months: int) -> str:
    """The first month of the run: all `months` months must have ended (closable)."""
    today = datetime.now(UTC)
    month = requested or DEFAULT_MONTH
    last = month
    for _ in range(months - 1):
        last = next_month(last)
    if has_ended(last, today):
        return month
    if requested:
        raise SystemExit(
            f"--month {requested} with --months {months} reaches {last}, which has not ended "
            "(a month is closed once over): choose an earlier --month"
        )
    month = f"{today.year:04d}-{today.month:02d}"
    for _ in range(months):
        month = previous_month(month)
    return month


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--month", default=None, help=f"first month (default {DEFAULT_MONTH})")
    parser.add_argument(
        "--months", type=int, default=1, help="consecutive months closed (default 1)"
    )
    parser.add_argument("--with-documents", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    parser.add_argument(
        "--plans", action="store_true", help="write query plans to results/close-plans.txt"
    )
    parser.add_argument(
        "--scale", action="store_true", help="the core measurements at several sizes, and a chart"
    )
    parser.add_argument(
        "--scale-events",
        default=",".join(str(size) for size in SCALE_EVENTS),
        help="comma-separated event counts of --scale",
    )
    args = parser.parse_args()
    if args.months < 1:
        raise SystemExit("--months must be 1 or more")
    month = first_month(args.month, args.months)

    if args.scale:
        sizes = sorted(int(size) for size in args.scale_events.split(","))
        scale(sizes, args.tenants, month, args.keep)
        return

    plans: list[str] | None = [] if args.plans else None
    with fresh_bench("billing-bench-close-", args.tenants, keep=args.keep) as bench:
        run = measure_month(
            bench,
            args.events,
            args.tenants,
            month,
            with_documents=args.with_documents,
            plans=plans,
        )
        closes = consecutive_months(bench, run, args.months, args.with_documents)
        issued = issued_per_period(bench.database_url)

    console.print(figures_table(run))
    console.print(models_table(run))
    console.print(baseline_table(run))
    if args.months > 1:
        console.print(months_table(closes, issued))
        console.print(months_models_table(closes))
    else:
        console.print(f"issued invoices per period: {issued}")
    rows = targets(run, closes)
    console.print(targets_table(rows))

    if plans:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "close-plans.txt").write_text("\n\n".join(plans) + "\n")
        console.print(f"query plans: {RESULTS / 'close-plans.txt'}")
    write_json(
        "close.json",
        run.as_json()
        | {
            "months": [close.as_json() for close in closes],
            "months_ratio_last_over_second": months_ratio(closes),
            "issued_invoices_per_period": issued,
            "targets": [asdict(row) for row in rows],
        },
    )


if __name__ == "__main__":
    main()
