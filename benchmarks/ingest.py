"""Ingestion benchmark: NATS JetStream -> loader -> raw.message_charged (SPEC §7).

From one run it prints:
  1. loader sustained throughput: N events published while the loader (its own process, as in
     production) lands them; events/s from the first publish to the last commit;
  2. raw COPY rate of the same rows into the same table (truncated first), and the ratio;
  3. consumer lag (pending + ack pending) sampled every second while a steady rate is offered.
Targets: >= 50,000 events/s, ratio >= 0.5, lag < 5,000 at 10,000 events/s.

Runs on fresh embedded PostgreSQL and NATS in a temporary folder (or BILLING_BENCH_DATABASE_URL
and BILLING_BENCH_NATS_URL). CPU seconds per process are read from /proc, so a noisy machine
shows up in the table. Usage: python benchmarks/ingest.py [--events 1000000] [--lag-seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import psycopg
import uvloop
from rich.console import Console
from rich.table import Table

from billing import db, localservices
from billing.raw import CHARGE_COLUMNS
from billing.settings import CHARGE_STREAM, LOADER_CONSUMER
from producers.publish import Publisher
from producers.sample import parse_month, sample_events

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
console = Console()
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of processes (those still alive)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def postgres_pids(pgdata: str | None) -> list[int]:
    """The postmaster of `pgdata` and its children (backends, writers)."""
    if not pgdata:
        return []
    try:
        postmaster = int(Path(pgdata, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return []
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == postmaster:
                children.append(int(entry.name))
    return [postmaster, *children]


@dataclass
class Run:
    events: int
    results: dict[str, Any] = field(default_factory=dict)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.state_dir: Path | None = None
        self.pgdata: str | None = None
        self.nats_pid: int | None = None
        database_url = os.environ.get("BILLING_BENCH_DATABASE_URL")
        nats_url = os.environ.get("BILLING_BENCH_NATS_URL")
        if database_url and nats_url:
            self.server_url, self.nats_url = database_url, nats_url
        else:
            self.state_dir = Path(tempfile.mkdtemp(prefix="billing-bench-"))
            state = localservices.start(self.state_dir)
            self.server_url, self.nats_url = state.database_url, state.nats_url
            self.pgdata, self.nats_pid = state.pgdata, state.nats_pid
        name = f"billing_bench_{os.getpid()}"
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f"drop database if exists {name}")
            conn.execute(f"create database {name}")
        self.database_url = db.with_database(self.server_url, name)
        db.migrate(self.database_url)
        self.loader: subprocess.Popen[bytes] | None = None

    def close(self) -> None:
        if self.loader is not None and self.loader.poll() is None:
            self.loader.kill()
        if self.state_dir is not None:
            localservices.stop(self.state_dir)
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def start_loader(self) -> None:
        env = os.environ | {
            "BILLING_DATABASE_URL": self.database_url,
            "BILLING_NATS_URL": self.nats_url,
            "BILLING_STATE_DIR": str(self.state_dir or tempfile.mkdtemp()),
        }
        self.loader = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from billing_cli import main; main()",
                "events",
                "load",
                "--metrics-port",
                "0",
                "--batch-size",
                str(self.args.batch_size),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(RESULTS / "loader.log", "wb"),  # noqa: SIM115
        )

    def stop_loader(self) -> int:
        assert self.loader is not None
        self.loader.send_signal(signal.SIGTERM)
        return self.loader.wait(timeout=60)

    def checkpoint(self) -> int:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(
                "select max(last_stream_sequence) from raw.loader_checkpoints"
            ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def consumer(self, client: nats.NATS) -> Any:
        return await client.jetstream().consumer_info(CHARGE_STREAM, LOADER_CONSUMER)

    async def wait_bound(self) -> None:
        client = await nats.connect(self.nats_url)
        try:
            for _ in range(600):
                try:
                    if (await self.consumer(client)).push_bound:
                        return
                except nats.js.errors.NotFoundError:
                    pass
                await asyncio.sleep(0.05)
            raise RuntimeError("the loader did not bind its consumer in 30 s (see loader.log)")
        finally:
            await client.close()

    async def throughput(self, payloads: list[bytes]) -> dict[str, float]:
        await self.wait_bound()
        assert self.loader is not None
        pids = {
            "loader": [self.loader.pid],
            "nats-server": [self.nats_pid] if self.nats_pid else [],
        }
        pids["postgres"] = postgres_pids(self.pgdata)
        before = {name: cpu_seconds(p) for name, p in pids.items()}
        publisher_cpu = time.process_time()
        started = time.perf_counter()
        async with Publisher(self.nats_url, max_in_flight=20_000) as publisher:
            await publisher.send(payloads)
        published = time.perf_counter()
        publisher_cpu = time.process_time() - publisher_cpu
        report = publisher.report
        assert report.stored == len(payloads), report
        while self.checkpoint() < len(payloads):
            if self.loader.poll() is not None:
                raise RuntimeError("the loader exited (see benchmarks/results/loader.log)")
            await asyncio.sleep(0.02)
        ended = time.perf_counter()
        cpu = {name: cpu_seconds(p) - before[name] for name, p in pids.items()}
        cpu["publisher"] = publisher_cpu
        seconds = ended - started
        return {
            "events": len(payloads),
            "seconds": seconds,
            "events_per_second": len(payloads) / seconds,
            "publish_events_per_second": len(payloads) / (published - started),
            **{
                f"cpu_us_per_event_{name}": value / len(payloads) * 1e6
                for name, value in cpu.items()
            },
        }

    async def drain(self, payloads: list[bytes]) -> dict[str, float]:
        """The loader alone: the stream already holds the events when it starts."""
        async with Publisher(self.nats_url, max_in_flight=20_000) as publisher:
            await publisher.send(payloads)
        target = await self.stream_last()
        self.start_loader()
        await self.wait_bound()
        assert self.loader is not None
        before = cpu_seconds([self.loader.pid])
        started = time.perf_counter()
        while self.checkpoint() < target:
            await asyncio.sleep(0.02)
        seconds = time.perf_counter() - started
        return {
            "events": len(payloads),
            "events_per_second": len(payloads) / seconds,
            "cpu_us_per_event_loader": (cpu_seconds([self.loader.pid]) - before)
            / len(payloads)
            * 1e6,
        }

    async def stream_last(self) -> int:
        client = await nats.connect(self.nats_url)
        try:
            info = await client.jetstream().stream_info(CHARGE_STREAM)
            return int(info.state.last_seq)
        finally:
            await client.close()

    def raw_copy(self, events: int) -> dict[str, float]:
        columns = ", ".join(CHARGE_COLUMNS)
        with psycopg.connect(self.database_url) as conn:
            buffer = bytearray()
            with conn.cursor().copy(
                f"copy (select {columns} from raw.message_charged order by stream_sequence)"
                " to stdout"
            ) as copy:
                for chunk in copy:
                    buffer += chunk
            conn.execute("truncate raw.message_charged")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor().copy(f"copy raw.message_charged ({columns}) from stdin") as copy:
                view = memoryview(buffer)
                for offset in range(0, len(view), 1 << 20):
                    copy.write(view[offset : offset + (1 << 20)])
            conn.commit()
            seconds = time.perf_counter() - started
            row = conn.execute("select count(*) from raw.message_charged").fetchone()
        assert row is not None
        assert row[0] == events, row
        return {"seconds": seconds, "rows_per_second": events / seconds}

    async def lag(self, payloads: list[bytes], rate: int, seconds: int) -> dict[str, float]:
        client = await nats.connect(self.nats_url)
        samples: list[int] = []
        tick = 0.1
        per_tick = max(1, int(rate * tick))

        async def sample() -> None:
            while True:
                info = await self.consumer(client)
                samples.append((info.num_pending or 0) + (info.num_ack_pending or 0))
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        try:
            async with Publisher(self.nats_url, max_in_flight=20_000) as publisher:
                started = time.perf_counter()
                offered = 0
                for step in range(int(seconds / tick)):
                    await publisher.send(payloads[offered : offered + per_tick])
                    offered += per_tick
                    delay = started + (step + 1) * tick - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                achieved = offered / (time.perf_counter() - started)
        finally:
            sampler.cancel()
            await client.close()
        ordered = sorted(samples)
        return {
            "offered_per_second": rate,
            "achieved_per_second": achieved,
            "samples": len(samples),
            "lag_max": max(samples),
            "lag_p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            "lag_mean": statistics.fmean(samples),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=1_000)
    parser.add_argument("--lag-rate", type=int, default=10_000)
    parser.add_argument("--lag-seconds", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=5_000)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    month = parse_month("2026-10")
    console.print(f"generating {args.events:,} + {args.lag_rate * args.lag_seconds:,} events ...")
    payloads = list(sample_events(month, args.events, args.tenants, seed=1, duplicate_rate=0))
    steady = list(
        sample_events(
            month, args.lag_rate * args.lag_seconds, args.tenants, seed=2, duplicate_rate=0
        )
    )
    bench = Bench(args)
    results: dict[str, Any] = {"load_average_before": os.getloadavg()}
    try:
        bench.start_loader()
        console.print("1/4 throughput: publishing while the loader lands ...")
        results["throughput"] = uvloop.run(bench.throughput(payloads))
        console.print("2/4 raw COPY of the same rows ...")
        results["copy"] = bench.raw_copy(args.events)
        console.print(f"3/4 lag at {args.lag_rate:,} events/s for {args.lag_seconds} s ...")
        results["lag"] = uvloop.run(bench.lag(steady, args.lag_rate, args.lag_seconds))
        results["loader_exit_code"] = bench.stop_loader()
        console.print("4/4 the loader alone on a pre-filled stream ...")
        fresh = list(sample_events(month, args.events // 3, args.tenants, seed=3, duplicate_rate=0))
        results["drain"] = uvloop.run(bench.drain(fresh))
        bench.stop_loader()
    finally:
        bench.close()
    results["load_average_after"] = os.getloadavg()
    throughput, copy, lag = results["throughput"], results["copy"], results["lag"]
    ratio = throughput["events_per_second"] / copy["rows_per_second"]
    table = Table(title=f"ingestion benchmark ({args.events:,} events, {os.cpu_count()} CPUs)")
    for column in ("measure", "value", "target", ""):
        table.add_column(column)

    def row(name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        table.add_row(name, value, target, "" if ok is None else ("ok" if ok else "MISSED"))

    row(
        "loader sustained throughput",
        f"{throughput['events_per_second']:,.0f} events/s",
        ">= 50,000",
        throughput["events_per_second"] >= 50_000,
    )
    row("  publish rate (same run)", f"{throughput['publish_events_per_second']:,.0f} events/s")
    drain = results["drain"]
    row("  loader alone, pre-filled stream", f"{drain['events_per_second']:,.0f} events/s")
    row("raw COPY of the same rows", f"{copy['rows_per_second']:,.0f} rows/s")
    row("loader / COPY", f"{ratio:.2f}", ">= 0.5", ratio >= 0.5)
    row(
        f"lag at {lag['offered_per_second']:,}/s, max",
        f"{lag['lag_max']:,}",
        "< 5,000",
        lag["lag_max"] < 5_000,
    )
    row("  p95", f"{lag['lag_p95']:,}", "< 5,000", lag["lag_p95"] < 5_000)
    row("  achieved rate", f"{lag['achieved_per_second']:,.0f} events/s")
    for name in ("publisher", "loader", "nats-server", "postgres"):
        key = f"cpu_us_per_event_{name}"
        if key in throughput:
            row(f"CPU per event, {name}", f"{throughput[key]:.1f} µs")
    row("CPU per event, loader alone", f"{drain['cpu_us_per_event_loader']:.1f} µs")
    row(
        "load average before / after",
        f"{results['load_average_before'][0]:.1f} / {results['load_average_after'][0]:.1f}",
    )
    row(
        "loader exit code on SIGTERM",
        str(results["loader_exit_code"]),
        "0",
        results["loader_exit_code"] == 0,
    )
    console.print(table)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"ingest-{stamp}.json").write_text(json.dumps(results | {"ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
