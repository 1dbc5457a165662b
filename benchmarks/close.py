"""Month-close benchmark: 10M events, 1,000 tenants (SPEC section 7).

From one run, on a fresh embedded PostgreSQL under a temporary folder (never the machine's
5432), it prints:
  1. the dbt build alone (`dbt run`: staging -> intermediate -> marts, drafts of the month),
     with `dbt test` timed beside it;
  2. a hand-written SQL baseline doing the same work (dedup by event_id, the per-event priced
     table materialized, usage and fee lines, drafts), and the dbt/baseline ratio; the
     baseline's draft totals must equal dbt's, to the cent;
  3. an incremental `dbt run` after 1% new events of the same (open) month, rebuilding its
     drafts, and its ratio to the full build;
  4. the full close through Dagster (raw observation, GX suites, dbt build with tests,
     issue in one transaction), from the same state as 1 (incremental models dropped).
Targets: close < 300 s; dbt/baseline <= 1.5; incremental cost following the new data.
PDFs are benchmarked by benchmarks/render.py (add --with-documents to include them here).

Events are generated with generate_series straight into raw.message_charged (not the loader):
deterministic, 0.1% duplicate landings (same payload), segments mostly 1-3 with a long tail,
10 operators, both directions, a mid-month price change (vodafone_de, the catalogue's).

With --plans, it also writes the query plans (EXPLAIN ANALYZE, BUFFERS) of the slowest models
and of the matching baseline step to benchmarks/results/close-plans.txt: the full build's
staging, pricing and draft lines, and the incremental run's draft lines and margins.

Usage: python benchmarks/close.py [--events 10000000] [--tenants 1000] [--month 2026-10] [--plans]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

from billing import db, localservices
from producers.sample import CURRENCIES, OPERATORS, TIERS, sample_tenant_id
from warehouse.transform import run_dbt

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
console = Console()
CHUNK = 1_000_000
INCREMENTAL_MODELS = (
    "staging.stg_raw__message_charged",
    "intermediate.int_charges_priced",
    "billing.margins",
)


def month_bounds(month: str) -> tuple[date, date]:
    year, number = int(month[:4]), int(month[5:7])
    start = date(year, number, 1)
    end = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return start, end


def timed(label: str, action: Callable[[], Any]) -> tuple[float, Any]:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {label} ...")
    started = time.perf_counter()
    value = action()
    seconds = time.perf_counter() - started
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {label}: {seconds:.1f} s")
    return seconds, value


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

    Every 1000th landing re-publishes the previous event (same event_id, same payload).
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
                select s, case when s %% 1000 = 0 then s - 1 else s end as src
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


# --- dbt alone, baseline ------------------------------------------------------------------------


def dbt(arguments: list[str], url: str, month: str, target: Path) -> dict[str, float]:
    """Run dbt; returns the execution seconds of each node (run_results.json)."""
    run_dbt(arguments, url, period=month, target_path=target)
    results = json.loads((target / "run_results.json").read_text())
    return {
        result["unique_id"].split(".")[-1]: float(result["execution_time"])
        for result in results["results"]
    }


def drop_incremental_models(url: str) -> None:
    """Drop the incremental models, so the next build starts from nothing (as a first close)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for relation in INCREMENTAL_MODELS:
            conn.execute(f"drop table if exists {relation} cascade")


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


# --- the close through Dagster ---------------------------------------------------------------


def dagster_close(
    url: str, nats_url: str, month: str, state_dir: Path, with_documents: bool
) -> dict[str, float]:
    """The monthly_close job in process; seconds per step (from the run's events)."""
    warnings.simplefilter("ignore")
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.defs.close.schedules import CLOSE_JOB_NAME
    from orchestration.defs.documents.assets import INVOICE_DOCUMENTS, INVOICE_EVENTS
    from orchestration.defs.resources import BillingResource

    defs = build_definitions(
        BillingResource(
            database_url=url,
            nats_url=nats_url,
            state_dir=str(state_dir),
            documents_uri=(state_dir / "documents").as_uri(),
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
    log = state_dir / "dagster-close.log"
    with log.open("w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        result = job.execute_in_process(
            partition_key=f"{month}-01",
            raise_on_error=False,
            asset_selection=selection,
            instance=dg.DagsterInstance.ephemeral(),
        )
    if not result.success:
        failures = [str(event.message) for event in result.all_events if event.is_failure]
        raise SystemExit(f"the close failed: {failures[:3]}")
    return {
        str(event.step_key): event.step_success_data.duration_ms / 1000
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_SUCCESS
    }


# --- report ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--with-documents", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    parser.add_argument(
        "--plans", action="store_true", help="write query plans to results/close-plans.txt"
    )
    args = parser.parse_args()

    state_dir = Path(tempfile.mkdtemp(prefix="billing-bench-close-"))
    target = state_dir / "dbt-target"
    console.print(f"state under {state_dir}")
    state = localservices.start(state_dir)
    try:
        url = state.database_url
        db.migrate(url)
        run_dbt(["seed"], url, target_path=target)
        add_tenants(url, args.tenants)
        generate_seconds, _ = timed(
            f"generate {args.events:,} events",
            lambda: add_events(url, args.month, 1, args.events, args.tenants),
        )

        run_seconds, run_nodes = timed(
            "dbt run (full build)", lambda: dbt(["run"], url, args.month, target)
        )
        plans: list[str] = []
        if args.plans:
            write_plans(url, target, "full", args.month, plans)
        test_seconds, _ = timed("dbt test", lambda: dbt(["test"], url, args.month, target))
        baseline_seconds, baseline_steps = timed("baseline SQL", lambda: baseline(url, args.month))
        drafts, mismatches, grand_total = compare_drafts(url, args.month)
        if args.plans:
            write_baseline_plans(url, args.month, plans)

        new_events = args.events // 100
        timed(
            f"add {new_events:,} events (1%)",
            lambda: add_events(url, args.month, args.events + 1, new_events, args.tenants),
        )
        incremental_seconds, incremental_nodes = timed(
            "dbt run (incremental)", lambda: dbt(["run"], url, args.month, target)
        )
        if args.plans:
            write_plans(url, target, "incremental", args.month, plans)

        drop_incremental_models(url)
        close_seconds, close_steps = timed(
            "close through Dagster",
            lambda: dagster_close(url, state.nats_url, args.month, state_dir, args.with_documents),
        )
    finally:
        localservices.stop(state_dir)
        if not args.keep:
            shutil.rmtree(state_dir, ignore_errors=True)

    table = Table(title=f"Month close: {args.events:,} events, {args.tenants:,} tenants")
    for column in ("measure", "seconds", "ratio / note"):
        table.add_column(column, justify="left" if column != "seconds" else "right")
    table.add_row(
        "generate events (generate_series, not timed below)", f"{generate_seconds:.1f}", ""
    )
    table.add_row("dbt run, full build (models)", f"{run_seconds:.1f}", "")
    table.add_row("dbt test (data tests, beside)", f"{test_seconds:.1f}", "")
    table.add_row("hand-written SQL baseline", f"{baseline_seconds:.1f}", "")
    table.add_row("dbt / baseline", "", f"{run_seconds / baseline_seconds:.2f} (target <= 1.50)")
    table.add_row(
        "baseline drafts = dbt drafts",
        "",
        f"{drafts} drafts, {mismatches} differ, total {grand_total}",
    )
    table.add_row(f"dbt run after +1% events ({new_events:,})", f"{incremental_seconds:.1f}", "")
    table.add_row(
        "incremental / full", "", f"{incremental_seconds / run_seconds:.2f} (new data: 0.01)"
    )
    table.add_row(
        "close through Dagster (build + checks + issue)",
        f"{close_seconds:.1f}",
        f"target < 300 s: {'met' if close_seconds < 300 else 'MISSED'}",
    )
    for step, seconds in close_steps.items():
        table.add_row(f"  step {step}", f"{seconds:.1f}", "")
    console.print(table)

    slowest = Table(title="Slowest dbt models: full build vs incremental (seconds)")
    for column in ("model", "full", "incremental"):
        slowest.add_column(column, justify="left" if column == "model" else "right")
    for name, seconds in sorted(run_nodes.items(), key=lambda item: -item[1])[:10]:
        slowest.add_row(name, f"{seconds:.1f}", f"{incremental_nodes.get(name, 0.0):.1f}")
    console.print(slowest)
    baseline_table = Table(title="Baseline steps (seconds)")
    baseline_table.add_column("step")
    baseline_table.add_column("seconds", justify="right")
    for label, seconds in baseline_steps.items():
        baseline_table.add_row(label, f"{seconds:.1f}")
    console.print(baseline_table)

    RESULTS.mkdir(parents=True, exist_ok=True)
    if plans:
        (RESULTS / "close-plans.txt").write_text("\n\n".join(plans) + "\n")
        console.print(f"query plans: {RESULTS / 'close-plans.txt'}")
    (RESULTS / "close.json").write_text(
        json.dumps(
            {
                "events": args.events,
                "tenants": args.tenants,
                "dbt_run_seconds": run_seconds,
                "dbt_test_seconds": test_seconds,
                "baseline_seconds": baseline_seconds,
                "incremental_seconds": incremental_seconds,
                "close_seconds": close_seconds,
                "close_steps": close_steps,
                "dbt_models": run_nodes,
                "dbt_models_incremental": incremental_nodes,
                "baseline_steps": baseline_steps,
                "drafts": drafts,
                "draft_mismatches": mismatches,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
