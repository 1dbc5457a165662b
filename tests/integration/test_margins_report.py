"""`billing margins` (issue 21): margins by operator, direction, tier or tenant, from the dbt
models, on a month built (open: subscriptions from the drafts) and then issued (closed:
subscriptions from the issued invoices). Its usage totals are billing.margins' totals."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from tests.support.billing_data import Event, add_account, add_tier, at, land_events
from tests.support.cli import billing, one_line
from tests.support.dbt import DbtProject

UPGRADED = uuid.UUID("d0000000-0000-4000-8000-0000000000d3")
AMERICAN = uuid.UUID("e0000000-0000-4000-8000-0000000000e3")
MARGIN_TOTALS = """
    select currency, sum(revenue), sum(cost), sum(event_count)
    from billing.margins where period = '2026-10' group by currency order by currency
"""
SUBSCRIPTIONS = {
    "open": "select currency, sum(amount) from billing.invoice_draft_lines"
    " where period = '2026-10' and line_type = 'subscription' group by 1 order by 1",
    "closed": "select invoices.currency, sum(lines.amount) from billing.issued_invoice_lines"
    " as lines join billing.issued_invoices as invoices using (invoice_number)"
    " where invoices.period = '2026-10' and lines.line_type = 'subscription'"
    " group by 1 order by 1",
}


def month(database_url: str, dbt_project: DbtProject) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, UPGRADED, name="Upgraded Ltd")
        add_tier(conn, UPGRADED, "business", date(2026, 10, 10))
        add_account(conn, AMERICAN, currency="USD", name="American Inc")
        land_events(
            conn,
            [
                Event(UPGRADED, at("2026-10-05"), segments=2),
                Event(UPGRADED, at("2026-10-20"), segments=7),
                Event(UPGRADED, at("2026-10-21"), "sfr_fr", "outbound", 3),
                Event(UPGRADED, at("2026-10-22"), "orange_fr", "inbound", 4),
                Event(AMERICAN, at("2026-10-08"), segments=5),
            ],
        )
    dbt_project.build_models("2026-10")


def report(url: str, by: str) -> list[dict[str, Any]]:
    done = billing("margins", "--month", "2026-10", "--by", by, "--format", "json",
                   BILLING_DATABASE_URL=url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def assert_totals_match(url: str, state: str) -> None:
    margins = {currency: (revenue, cost, events) for currency, revenue, cost, events in
               rows(url, MARGIN_TOTALS)}  # fmt: skip
    subscriptions = dict(rows(url, SUBSCRIPTIONS[state]))
    assert set(margins) == {"EUR", "USD"}
    for by in ("operator", "direction", "tier", "tenant"):
        reported = report(url, by)
        for currency, (revenue, cost, events) in margins.items():
            mine = [row for row in reported if row["currency"] == currency]
            assert sum(Decimal(row["usage_revenue"]) for row in mine) == revenue, by
            assert sum(Decimal(row["cost"]) for row in mine) == cost, by
            assert sum(row["events"] for row in mine) == events, by
            assert sum(Decimal(row["subscription_revenue"]) for row in mine) == Decimal(
                subscriptions[currency]
            ), by
            for row in mine:
                assert Decimal(row["margin"]) == Decimal(row["revenue"]) - Decimal(row["cost"])


def test_margins_by_every_dimension_total_billing_margins_open_then_closed(
    database_url: str, dbt_project: DbtProject
) -> None:
    month(database_url, dbt_project)
    assert_totals_match(database_url, "open")

    by_tier = report(database_url, "tier")
    assert {row["key"] for row in by_tier} == {"starter", "business"}
    by_operator = report(database_url, "operator")
    assert {row["key"] for row in by_operator} == {"orange_fr", "sfr_fr", "(subscriptions)"}
    by_tenant = {row["key"] for row in report(database_url, "tenant")}
    assert by_tenant == {str(UPGRADED), str(AMERICAN)}

    empty = billing("margins", "--month", "2026-11", BILLING_DATABASE_URL=database_url)
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == "no priced events or invoices of 2026-11"

    dbt_project.issue("2026-10")
    assert_totals_match(database_url, "closed")


def test_negative_margins_come_first_and_the_chart_is_written(
    database_url: str, dbt_project: DbtProject, tmp_path: Path
) -> None:
    month(database_url, dbt_project)
    with psycopg.connect(database_url) as conn:  # a loss, as a catalogue error would give
        conn.execute(
            "insert into billing.margins (period, tenant_id, operator_id, direction,"
            " account_tier, currency, event_count, segments, revenue, cost, margin)"
            " values ('2026-10', %s, 'tim_it', 'outbound', 'starter', 'EUR', 1, 10, 0.5, 2.5,"
            " -2.0)",
            (UPGRADED,),
        )
    first = report(database_url, "operator")[0]
    assert (first["key"], Decimal(first["margin"])) == ("tim_it", Decimal("-2.0"))

    done = billing("margins", "--month", "2026-10", BILLING_DATABASE_URL=database_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), done.stdout
    body = [line for line in lines if line.strip().startswith(("tim_it", "orange_fr", "sfr_fr"))]
    assert body[0].strip().startswith("tim_it")
    assert sum(line.strip().startswith("total") for line in lines) == 2  # EUR and USD

    png, page = tmp_path / "margins.png", tmp_path / "margins.html"
    for path in (png, page):
        done = billing("margins", "--month", "2026-10", "--by", "tier", "--chart", str(path),
                       BILLING_DATABASE_URL=database_url)  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    html = page.read_text()
    assert '<img alt="chart" src="data:image/png;base64,' in html
    assert "<td>business</td>" in html
    assert "<td>starter</td>" in html


def test_bad_options_are_refused_in_one_line(database_url: str) -> None:
    for arguments, expected in (
        (("--month", "2026-13"), "2026-13"),
        (("--month", "2026-10", "--by", "country"), "country"),
        (("--month", "2026-10", "--chart", "margins.txt"), ".png or .html"),
    ):
        done = billing("margins", *arguments, BILLING_DATABASE_URL=database_url)
        assert done.returncode == 2, (arguments, done.stdout, done.stderr)
        assert expected in one_line(done.stderr)
    unbuilt = billing("margins", "--month", "2026-10", BILLING_DATABASE_URL=database_url)
    assert unbuilt.returncode == 1
    assert "the margins are not built in this database" in one_line(unbuilt.stderr)
