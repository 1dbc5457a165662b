"""The Great Expectations suites against real tables: each expectation fails on the row it is for.

The draft tables are created here with the columns the suite reads (dbt builds them in a
close; the close tests run them that way), so each case is one small, fast database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from expectations.runner import SuiteOutcome, run_suite
from expectations.suites import invoice_drafts_suite, issued_invoices_suite, raw_events_suite
from tests.support.billing_data import Event, at, land_events
from tests.support.issued_invoices import insert_issued, new_uuid, sample_invoice

DRAFT_TABLES = """
create table billing.invoice_drafts (
    invoice_number text, tenant_id uuid, replaces_invoice_number text, period text,
    subtotal numeric(18, 2), total numeric(18, 2), line_count bigint
);
create table billing.invoice_draft_lines (
    tenant_id uuid, replaces_invoice_number text, period text, line_number bigint,
    line_type text, quantity bigint, unit_price numeric, amount numeric(18, 2)
);
grant select on billing.invoice_drafts, billing.invoice_draft_lines to billing_auditor;
"""


def failed(outcome: SuiteOutcome) -> list[str]:
    return [f"{failure.part}: {failure.expectation}" for failure in outcome.failures]


def make_drafts(database_url: str, subtotal: str, amounts: list[str]) -> None:
    tenant = new_uuid()
    with psycopg.connect(database_url) as conn:
        conn.execute(DRAFT_TABLES)
        conn.execute(
            "insert into billing.invoice_drafts values ('INV-202610-000001', %s, null,"
            " '2026-10', %s, %s, %s)",
            (tenant, Decimal(subtotal), Decimal(subtotal), len(amounts)),
        )
        for number, amount in enumerate(amounts, start=1):
            conn.execute(
                "insert into billing.invoice_draft_lines values"
                " (%s, null, '2026-10', %s, 'usage', 10, 0.1, %s)",
                (tenant, number, Decimal(amount)),
            )


def test_reconciling_drafts_pass(database_url: str) -> None:
    make_drafts(database_url, "3.50", ["1.00", "2.50"])
    outcome = run_suite(invoice_drafts_suite("2026-10"), database_url)
    assert outcome.success, failed(outcome)
    assert len(outcome.outcomes) == 7


def test_a_subtotal_that_is_not_the_sum_of_its_lines_fails(database_url: str) -> None:
    make_drafts(database_url, "3.51", ["1.00", "2.50"])
    outcome = run_suite(invoice_drafts_suite("2026-10"), database_url)
    assert failed(outcome) == [
        "drafts_reconcile: ExpectColumnPairValuesToBeEqual(subtotal, lines_amount)"
    ]


def test_a_negative_line_amount_fails(database_url: str) -> None:
    make_drafts(database_url, "0.50", ["1.00", "-0.50"])
    outcome = run_suite(invoice_drafts_suite("2026-10"), database_url)
    assert failed(outcome) == ["draft_lines_not_negative: ExpectColumnValuesToBeBetween(amount)"]
    assert outcome.failures[0].unexpected_count == 1


def test_issued_numbers_with_a_gap_fail(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        for seq in (1, 2, 4):
            insert_issued(conn, sample_invoice(seq, usage_lines=2, late_lines=0))
    outcome = run_suite(issued_invoices_suite(), database_url)
    assert failed(outcome) == ["numbers_gapless: ExpectColumnValuesToBeBetween(gap)"]
    assert outcome.failures[0].unexpected_count == 1


def test_issued_invoices_without_gaps_pass(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        for seq in (1, 2, 3):
            insert_issued(conn, sample_invoice(seq, usage_lines=2, late_lines=0))
    outcome = run_suite(issued_invoices_suite(), database_url)
    assert outcome.success, failed(outcome)


def test_raw_events_in_the_future_fail_and_good_ones_pass(database_url: str) -> None:
    tenant = new_uuid()
    with psycopg.connect(database_url) as conn:
        land_events(conn, [Event(tenant, at("2026-10-03")) for _ in range(3)])
    assert run_suite(raw_events_suite(), database_url).success

    with psycopg.connect(database_url) as conn:
        land_events(conn, [Event(tenant, datetime.now(UTC) + timedelta(hours=1))])
    outcome = run_suite(raw_events_suite(), database_url)
    assert failed(outcome) == ["raw_message_charged: ExpectColumnMaxToBeBetween(occurred_at)"]
