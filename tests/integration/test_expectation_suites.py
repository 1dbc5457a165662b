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


def land(database_url: str, *events: Event, landed_at: datetime | None = None) -> None:
    """Land events (landed now, or at `landed_at`, as the loader would have then)."""
    with psycopg.connect(database_url) as conn:
        start = conn.execute("select coalesce(max(stream_sequence), 0) from raw.message_charged")
        first = int(start.fetchone()[0]) + 1  # type: ignore[index]
        land_events(conn, events)
        if landed_at is not None:
            conn.execute(
                "update raw.message_charged set landed_at = %s where stream_sequence >= %s",
                (landed_at, first),
            )


def record_close(database_url: str, period: str, closed_at: datetime) -> None:
    """A row of billing.period_closes, as the issue step writes it (triggers bypassed: only
    the suite's reading of the last close is under test here)."""
    with psycopg.connect(database_url) as conn:
        conn.execute("set session_replication_role = replica")
        conn.execute(
            "insert into billing.period_closes (period, kind, closed_at, invoice_count,"
            " event_count) values (%s, 'close', %s, 0, 0)",
            (period, closed_at),
        )


def test_raw_events_in_the_future_fail_and_good_ones_pass(database_url: str) -> None:
    tenant = new_uuid()
    land(database_url, *(Event(tenant, at("2026-10-03")) for _ in range(3)))
    assert run_suite(raw_events_suite("2026-10"), database_url).success

    land(database_url, Event(tenant, datetime.now(UTC) + timedelta(hours=1)))
    outcome = run_suite(raw_events_suite("2026-10"), database_url)
    assert failed(outcome) == [
        "raw_rows_in_scope: ExpectColumnValuesToBeBetween(seconds_ahead_of_landing)"
    ]
    assert outcome.failures[0].unexpected_count == 1


def test_an_event_older_than_the_maximum_age_at_landing_fails(database_url: str) -> None:
    land(database_url, Event(new_uuid(), datetime.now(UTC) - timedelta(days=401)))
    outcome = run_suite(raw_events_suite("2026-10"), database_url)
    assert failed(outcome) == [
        "raw_rows_in_scope: ExpectColumnValuesToBeBetween(seconds_old_at_landing)"
    ]
    # The bound is the setting's: a close configured for 500 days accepts it.
    wider = raw_events_suite("2026-10", max_event_age=timedelta(days=500))
    assert run_suite(wider, database_url).success


def test_a_bogus_event_landed_before_the_last_close_blocks_no_later_close(
    database_url: str,
) -> None:
    """Issue 18: a 2099 event landed once made every close of every month fail until 2099."""
    tenant = new_uuid()
    a_month_ago = datetime.now(UTC) - timedelta(days=30)
    land(database_url, Event(tenant, at("2099-01-01")), landed_at=a_month_ago)
    record_close(database_url, "2026-09", a_month_ago + timedelta(days=1))
    land(database_url, *(Event(tenant, at("2026-10-03")) for _ in range(3)))
    outcome = run_suite(raw_events_suite("2026-10"), database_url)
    assert outcome.success, failed(outcome)


def test_the_rows_of_the_month_being_closed_are_checked_whenever_they_landed(
    database_url: str,
) -> None:
    # An October event landed a month before it occurred, then a close: only October's
    # suite looks at it again.
    land(database_url, Event(new_uuid(), at("2026-10-03")), landed_at=at("2026-09-01"))
    record_close(database_url, "2026-08", at("2026-09-15"))
    assert run_suite(raw_events_suite("2026-11"), database_url).success
    outcome = run_suite(raw_events_suite("2026-10"), database_url)
    assert failed(outcome) == [
        "raw_rows_in_scope: ExpectColumnValuesToBeBetween(seconds_ahead_of_landing)"
    ]


def set_segments(database_url: str, segments: int) -> None:
    """Give the newest landed row `segments` (raw is append-only for the loader; a test
    writes it as the owner would, to stand for a row the loader never wrote)."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "update raw.message_charged set segments = %s"
            " where stream_sequence = (select max(stream_sequence) from raw.message_charged)",
            (segments,),
        )


def test_a_row_in_scope_with_segments_out_of_range_fails(database_url: str) -> None:
    land(database_url, Event(new_uuid(), at("2026-10-03")))
    set_segments(database_url, 0)
    outcome = run_suite(raw_events_suite("2026-10"), database_url)
    assert failed(outcome) == ["raw_rows_in_scope: ExpectColumnValuesToBeBetween(segments)"]
    assert outcome.failures[0].unexpected_count == 1


def test_a_row_checked_by_an_earlier_close_is_not_read_again(database_url: str) -> None:
    """The suite reads the month's rows and the newest, not the history (issue 19): a
    September row landed before September's close is out of October's scope."""
    land(database_url, Event(new_uuid(), at("2026-09-03")), landed_at=at("2026-09-03"))
    set_segments(database_url, 0)
    record_close(database_url, "2026-09", at("2026-10-01"))
    land(database_url, Event(new_uuid(), at("2026-10-03")))
    assert run_suite(raw_events_suite("2026-10"), database_url).success
    # The same row is in September's scope.
    assert failed(run_suite(raw_events_suite("2026-09"), database_url)) == [
        "raw_rows_in_scope: ExpectColumnValuesToBeBetween(segments)"
    ]
