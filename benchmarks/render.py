"""PDF rendering benchmark: issued invoices -> PDF -> storage -> documents + outbox (SPEC §7).

It issues N invoices of realistic size (a subscription line, 12-22 usage lines, 0-2 late usage
lines: 15-25 lines) into two fresh databases, then runs the production path,
`render_pending`, once with one process and once with one worker per core, writing files
under a temporary folder. Targets (issue 19): >= 30 invoices/s wall-clock with 2 processes on
the 2-core machine, and <= 65 ms CPU per invoice (this process and its workers); the table says
met or MISSED for each, on the 2-process row (the 1-process row is for comparison).

Runs on fresh embedded PostgreSQL in a temporary folder (or BILLING_BENCH_DATABASE_URL, a
server where it may create databases). Usage: python benchmarks/render.py [--invoices 1000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
import pypdf
from psycopg import sql
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from billing import db, localservices  # noqa: E402
from billing.settings import Settings  # noqa: E402
from invoice_renderer import default_workers, render_pending  # noqa: E402
from tests.support.issued_invoices import insert_issued, sample_invoice  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TARGET = 30.0  # invoices/s, wall-clock, with TARGET_PROCESSES processes
TARGET_PROCESSES = 2
CPU_TARGET = 0.065  # CPU seconds per invoice
console = Console()


def create_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = db.with_database(server_url, name)
    db.migrate(url)
    return url


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def issue(database_url: str, count: int) -> int:
    """Issue `count` invoices of 15-25 lines; returns the number of lines."""
    rng = random.Random(2026)
    lines = 0
    with psycopg.connect(database_url) as conn:
        for seq in range(1, count + 1):
            invoice = sample_invoice(
                seq,
                usage_lines=rng.randint(12, 22),
                late_lines=rng.choice((0, 0, 1, 2)),
                currency=("EUR", "USD", "GBP")[seq % 3],
            )
            insert_issued(conn, invoice)
            lines += invoice.line_count
    return lines


def measure(server_url: str, folder: Path, count: int, workers: int) -> dict[str, float]:
    name = f"billing_bench_render_{uuid.uuid4().hex[:8]}"
    database_url = create_database(server_url, name)
    try:
        lines = issue(database_url, count)
        settings = Settings(
            state_dir=folder,
            database_url=database_url,
            nats_url=None,
            documents_uri=(folder / f"documents-{workers}").as_uri(),
        )
        cpu_before = os.times()
        report = render_pending(settings, database_url, workers=workers)
        cpu_after = os.times()
        if report.failures or report.recorded != count:
            raise SystemExit(f"render failed: {report.failures[:3]}")
        with psycopg.connect(database_url) as conn:
            sizes = [
                row[0] for row in conn.execute("select size_bytes from billing.invoice_documents")
            ]
            (uri,) = conn.execute(
                "select uri from billing.invoice_documents limit 1"
            ).fetchone() or ("",)
        pages = len(
            pypdf.PdfReader(io.BytesIO(Path(uri.removeprefix("file://")).read_bytes())).pages
        )
        cpu = sum(
            after - before for after, before in zip(cpu_after[:4], cpu_before[:4], strict=True)
        )
        return {
            "workers": workers,
            "invoices": count,
            "lines_per_invoice": lines / count,
            "seconds": report.seconds,
            "per_second": count / report.seconds,
            "cpu_seconds_per_invoice": cpu / count,
            "mean_pdf_bytes": sum(sizes) / len(sizes),
            "pages_of_first": pages,
        }
    finally:
        drop_database(server_url, name)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=default_workers(), help="all cores")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="billing-bench-render-"))
    server_url = os.environ.get("BILLING_BENCH_DATABASE_URL")
    started = None
    try:
        if not server_url:
            started = localservices.start(folder / "services")
            server_url = started.database_url
        runs = [
            measure(server_url, folder, args.invoices, workers) for workers in (1, args.workers)
        ]
    finally:
        if started:
            localservices.stop(folder / "services")
        shutil.rmtree(folder, ignore_errors=True)

    table = Table(
        title=f"Invoice rendering, {args.invoices} invoices (targets: >= {TARGET:.0f}/s on "
        f"{TARGET_PROCESSES} processes, <= {CPU_TARGET * 1000:.0f} ms CPU per invoice)"
    )
    for column in (
        "processes",
        "lines/invoice",
        "seconds",
        "invoices/s",
        f">= {TARGET:.0f}/s",
        "CPU ms/invoice",
        f"<= {CPU_TARGET * 1000:.0f} ms",
        "PDF KiB",
    ):
        table.add_column(column, justify="right")
    for run in runs:
        judged = run["workers"] == TARGET_PROCESSES
        table.add_row(
            str(run["workers"]),
            f"{run['lines_per_invoice']:.1f}",
            f"{run['seconds']:.1f}",
            f"{run['per_second']:.1f}",
            verdict(run["per_second"] >= TARGET) if judged else "-",
            f"{run['cpu_seconds_per_invoice'] * 1000:.1f}",
            verdict(run["cpu_seconds_per_invoice"] <= CPU_TARGET) if judged else "-",
            f"{run['mean_pdf_bytes'] / 1024:.0f}",
        )
    console.print(table)
    cores = os.cpu_count() or 1
    console.print(
        f"scaling {runs[-1]['per_second'] / runs[0]['per_second']:.2f}x on {runs[-1]['workers']} "
        f"processes; load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f} "
        f"on {cores} cores (other work on the machine slows the wall-clock rates)"
    )
    capacity = cores / runs[-1]["cpu_seconds_per_invoice"]
    console.print(
        f"CPU-bound capacity on {cores} idle cores: {capacity:.1f} invoices/s "
        f"({capacity / TARGET:.2f}x the target), from {runs[-1]['cpu_seconds_per_invoice']:.3f} "
        "CPU s per invoice in the parallel run (this process and its workers)"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "render.json").write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
