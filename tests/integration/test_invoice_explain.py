"""`billing invoices explain` (issue 21): how each issued line came to be, as Finance logs in.

A real month is built and issued by dbt; explain must list exactly the events the issued
event map holds for a line, name the catalogue row and tier behind it, say when a line is
late usage, and refuse a bad number or line in one line (exit 2).
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

import psycopg

from tests.conftest import LoginFactory
from tests.support.billing_data import Event, add_account, add_tier, at, land_events
from tests.support.cli import billing, one_line
from tests.support.dbt import DbtProject

TENANT = uuid.UUID("d0000000-0000-4000-8000-0000000000d2")
LINE_EVENTS = """
    select lines.line_number, events.event_id::text
    from billing.issued_invoice_events as events
    inner join billing.issued_invoice_lines as lines
        on events.invoice_number = lines.invoice_number
        and events.line_number = lines.line_number
    where lines.invoice_number = %s
    order by 1, 2
"""


def issued_month(database_url: str, dbt_project: DbtProject) -> tuple[str, list[Event]]:
    """A starter tenant upgraded to business on 10 October, two operators, and one event of
    September (never closed): October's close issues it as late usage."""
    events = [
        Event(TENANT, at("2026-10-05"), segments=2),
        Event(TENANT, at("2026-10-06"), segments=3),
        Event(TENANT, at("2026-10-20"), segments=4),
        Event(TENANT, at("2026-10-07"), "sfr_fr", "outbound", 1),
        Event(TENANT, at("2026-09-30"), segments=5),
    ]
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT, name="Explained Ltd")
        add_tier(conn, TENANT, "business", date(2026, 10, 10))
        land_events(conn, events)
    dbt_project.build_models("2026-10")
    dbt_project.issue("2026-10")
    with psycopg.connect(database_url) as conn:
        row = conn.execute("select invoice_number from billing.issued_invoices").fetchone()
    assert row is not None
    return str(row[0]), events


def explain(url: str, *arguments: str) -> str:
    done = billing("invoices", "explain", *arguments, BILLING_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_explain_lists_exactly_the_events_of_the_issued_event_map(
    database_url: str, dbt_project: DbtProject, login: LoginFactory
) -> None:
    number, events = issued_month(database_url, dbt_project)
    finance = login("billing_finance")
    with psycopg.connect(database_url) as conn:
        mapped = [(int(line), event) for line, event in conn.execute(LINE_EVENTS, (number,))]
    assert len(mapped) == len(events)

    exported = list(csv.DictReader(io.StringIO(explain(finance, number, "--events"))))
    assert sorted((int(row["line_number"]), row["event_id"]) for row in exported) == mapped
    by_id = {str(event.event_id): event for event in events}
    for row in exported:  # each event with its own facts, as the build priced it
        assert int(row["segments"]) == by_id[row["event_id"]].segments
        assert row["rule_id"]

    for line in sorted({line for line, _ in mapped}):
        one = list(
            csv.DictReader(io.StringIO(explain(finance, number, "--line", str(line), "--events")))
        )
        assert sorted(row["event_id"] for row in one) == [e for n, e in mapped if n == line]


def test_explain_names_the_rule_tier_and_late_usage_of_each_line(
    database_url: str, dbt_project: DbtProject, login: LoginFactory
) -> None:
    number, _ = issued_month(database_url, dbt_project)
    with psycopg.connect(database_url) as conn:
        lines = conn.execute(
            "select line_number, line_type, rule_id, fee_id, quantity"
            " from billing.issued_invoice_lines where invoice_number = %s order by 1",
            (number,),
        ).fetchall()
    output = explain(login("billing_finance"), number)
    assert "Explained Ltd" in output
    for line_number, line_type, rule_id, fee_id, _ in lines:
        assert f"line {line_number}  {line_type}" in output
        assert f"{'pricing rule' if rule_id else 'tier fee'} {rule_id or fee_id}:" in output
    # Usage lines: the events' exact sum, then the issued (rounded) amount.
    assert output.count(" exact = ") == len([line for line in lines if line[2] is not None])
    # The upgrade on 10 October is the tier in force over October's lines.
    assert "starter from 2025-01-01, business from 2026-10-10" in output
    late = [line for line in lines if line[1] == "late_usage"]
    assert late, lines
    assert "late       usage that occurred in 2026-09" in output

    [(line_number, _, rule_id, _, quantity)] = [line for line in lines if line[1] == "late_usage"]
    single = explain(login("billing_finance"), number, "--line", str(line_number))
    assert f"line {line_number}  late_usage" in single
    assert f"events     1 event of {quantity} segments (the line's quantity: {quantity})" in single
    assert "line 1 " not in single or line_number == 1

    # Refusals: one line each, exit 2, on the same issued month.
    for arguments, expected in (
        (("INV-1",), "is not an invoice number"),
        (("INV-202610-000099",), "no issued invoice INV-202610-000099"),
        ((number, "--line", "99"), f"{number} has no line 99"),
    ):
        done = billing("invoices", "explain", *arguments, BILLING_DATABASE_URL=database_url)
        assert done.returncode == 2, (arguments, done.stdout, done.stderr)
        assert expected in one_line(done.stderr)
