"""Open-month preview benchmark (issue 20, docs/preview.md): 10M events, 1,000 tenants.

On a fresh embedded PostgreSQL (never the machine's 5432) it builds the preview of an open
month with the production function, finance.preview.build_preview (what the Dagster asset
billing/current_month_preview runs: the close's dbt models of the month, tests aside, under
the close lock), and times:
  1. the full preview build (incremental models empty: the first preview of the month);
  2. refreshes after 0.1%, 1% and 10% new events of the same month, added one after the other
     (cumulative: before the 10% refresh, raw holds 111.1% of the first events; each
     percentage is of the first events), each with its ratio to the full build.
Target: the refresh after 1% <= 5% of the full build. It also checks that the preview issues
nothing: billing.issued_invoices and billing.period_closes stay empty and the month's drafts
are numbered from 1 (the next close would start at INV-YYYYMM-000001).

Usage: python benchmarks/preview.py [--events 10000000] [--tenants 1000] [--month YYYY-MM]
(default month: the current one, as the asset builds)
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from functools import partial

import psycopg
from common import (
    RESULTS,
    Bench,
    ModelRun,
    add_events,
    console,
    fresh_bench,
    read_run_results,
    seconds_of,
    timed,
    verdict,
)
from rich.table import Table

from billing.periods import Period
from billing.settings import load_settings
from finance.preview import build_preview

REFRESHES = (0.001, 0.01, 0.1)
REFRESH_TARGET = 0.01  # the refresh the target is about
REFRESH_OVER_FULL = 0.05


def preview_build(bench: Bench, period: Period) -> dict[str, ModelRun]:
    """One preview build (production code); each model's figures."""
    settings = load_settings(state_dir=bench.state_dir, database_url=bench.database_url)
    if not build_preview(settings, bench.database_url, period):
        raise SystemExit(f"{period} is closed: the preview built nothing; pick an open --month")
    return read_run_results(bench.target)


def nothing_issued(url: str, month: str) -> tuple[int, int, int | None]:
    """(issued invoices, period closes, first draft number of the month)."""
    with psycopg.connect(url) as conn:
        issued = conn.execute("select count(*) from billing.issued_invoices").fetchone()
        closes = conn.execute("select count(*) from billing.period_closes").fetchone()
        first = conn.execute(
            "select min(seq) from billing.invoice_drafts where period = %s", (month,)
        ).fetchone()
    assert issued is not None
    assert closes is not None
    assert first is not None
    return (
        int(str(issued[0])),
        int(str(closes[0])),
        int(str(first[0])) if first[0] is not None else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--month", default=None, help="the open month (default: this month)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    args = parser.parse_args()
    period = Period.parse(args.month) if args.month else Period.of(datetime.now(UTC))
    month = period.label

    refreshes: list[dict[str, float | int]] = []
    with fresh_bench("billing-bench-preview-", args.tenants, keep=args.keep) as bench:
        # build_preview runs dbt with the environment's target folder: this run's.
        os.environ["DBT_TARGET_PATH"] = str(bench.target)
        os.environ["DBT_LOG_PATH"] = str(bench.target / "logs")
        url = bench.database_url
        generate_seconds, _ = timed(
            f"generate {args.events:,} events of {month}",
            lambda: add_events(url, month, 1, args.events, args.tenants),
        )
        full_seconds, full_nodes = timed(
            "preview, full build", lambda: preview_build(bench, period)
        )
        sequence = args.events + 1
        nodes: dict[str, dict[str, float]] = {"full": seconds_of(full_nodes)}
        for share in REFRESHES:
            count = max(1, round(args.events * share))
            timed(
                f"add {count:,} events ({share:.1%})",
                partial(add_events, url, month, sequence, count, args.tenants),
            )
            sequence += count
            seconds, refreshed = timed(
                f"preview refresh after +{share:.1%}", lambda: preview_build(bench, period)
            )
            nodes[f"{share:.1%}"] = seconds_of(refreshed)
            refreshes.append({"share": share, "events": count, "seconds": seconds})
        issued, closes, first_number = nothing_issued(url, month)

    table = Table(title=f"Preview of {month}: {args.events:,} events, {args.tenants:,} tenants")
    for column in ("measure", "seconds", "refresh / full"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row("generate events (not timed below)", f"{generate_seconds:.1f}", "")
    table.add_row("preview, full build (build_preview)", f"{full_seconds:.1f}", "")
    for refresh in refreshes:
        table.add_row(
            f"refresh after +{refresh['share']:.1%} ({int(refresh['events']):,} events,"
            " cumulative)",
            f"{refresh['seconds']:.1f}",
            f"{float(refresh['seconds']) / full_seconds:.3f}",
        )
    console.print(table)

    slowest = Table(title="Slowest preview models: full vs each refresh (seconds)")
    slowest.add_column("model")
    for label in nodes:
        slowest.add_column(label, justify="right")
    for name, _ in sorted(nodes["full"].items(), key=lambda item: -item[1])[:10]:
        slowest.add_row(name, *(f"{nodes[label].get(name, 0.0):.2f}" for label in nodes))
    console.print(slowest)

    target_refresh = next(r for r in refreshes if r["share"] == REFRESH_TARGET)
    ratio = float(target_refresh["seconds"]) / full_seconds
    untouched = issued == 0 and closes == 0 and first_number in (1, None)
    targets = Table(title="Targets (issue 20)")
    for column in ("target", "measured", "limit", "status"):
        targets.add_column(column)
    targets.add_row(
        "preview refresh after +1% / full build",
        f"{ratio:.3f} = {float(target_refresh['seconds']):.1f} / {full_seconds:.1f}",
        f"<= {REFRESH_OVER_FULL}",
        verdict(ratio <= REFRESH_OVER_FULL),
    )
    targets.add_row(
        "nothing issued by the preview",
        f"{issued} issued, {closes} closes, drafts numbered from {first_number}",
        "0, 0, 1",
        verdict(untouched),
    )
    console.print(targets)

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "preview.json").write_text(
        json.dumps(
            {
                "events": args.events,
                "tenants": args.tenants,
                "month": month,
                "generate_seconds": generate_seconds,
                "full_seconds": full_seconds,
                "refreshes": refreshes,
                "refreshes_cumulative": True,
                "refresh_1pct_over_full": ratio,
                "issued_invoices": issued,
                "period_closes": closes,
                "first_draft_number": first_number,
                "models": nodes,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
