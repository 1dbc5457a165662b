"""From message bytes to a raw row or a rejection: pure code, no servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from billing.errors import ConfigurationError
from billing.settings import Settings, load_settings
from loader.consumer import stream_and_consumer_sequence
from loader.rows import (
    MAX_REASON_LENGTH,
    Rejected,
    TimeBounds,
    build_row,
    copy_line,
    reject_row,
)
from tests.support.ingest import TENANT, event, payload


def test_a_valid_event_becomes_a_typed_row_with_the_payload_as_published() -> None:
    data = payload(country="FR", attributes={"campaign": "autumn"}, extra_field=[1, 2])
    row = build_row(42, "billing.message.charged.v1", data)
    assert isinstance(row, tuple)
    parsed = orjson.loads(data)
    assert row == (
        42,
        "billing.message.charged.v1",
        parsed["event_id"],
        "billing.message.charged.v1",
        "2026-10-14T09:30:12.123Z",
        TENANT,
        parsed["message_id"],
        "orange_fr",
        "outbound",
        2,
        "FR",
        '{"campaign":"autumn"}',
        data.decode(),
    )


def test_an_offset_timestamp_is_handed_to_postgresql_in_utc() -> None:
    row = build_row(1, "s", payload(occurred_at="2026-10-31T23:59:59+20:00"))
    assert isinstance(row, tuple)
    assert row[4] == "2026-10-31T03:59:59+00:00"  # PostgreSQL refuses offsets past 15:59


def test_an_integral_float_segment_count_is_an_integer() -> None:
    row = build_row(1, "s", payload(segments=3.0))
    assert isinstance(row, tuple)
    assert row[9] == 3
    assert type(row[9]) is int


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"segments": 2.5}, "segments"),
        ({"segments": True}, "segments"),
        ({"operator_id": "orange_fr\n"}, "operator_id"),  # ECMA `$` is the end of input
        ({"event_id": "7A0F5A4E-3C2B-4C1E-9D7A-0B1E2F3A4B5C\n"}, "event_id"),
        ({"occurred_at": "2026-02-29T10:00:00Z"}, "occurred_at"),
        ({"attributes": {"a": None}}, "attributes"),
        ({"country": None}, "country"),
    ],
)
def test_contract_violations_are_rejected_with_the_reason(
    fields: dict[str, object], fragment: str
) -> None:
    row = build_row(1, "s", payload(**fields))
    assert isinstance(row, Rejected)
    assert fragment in row.reason


def test_what_postgresql_cannot_store_is_rejected_not_copied() -> None:
    nul = build_row(1, "s", payload(message_id="a\u0000b"))
    assert isinstance(nul, Rejected)
    assert "U+0000" in nul.reason
    nul_in_extra_field = build_row(1, "s", payload(note={"k\u0000": "v"}))
    assert isinstance(nul_in_extra_field, Rejected)
    escaped_backslash = build_row(1, "s", orjson.dumps(event(note="\\u0000")))
    assert isinstance(escaped_backslash, tuple)  # a literal backslash-u, storable
    early = build_row(1, "s", payload(occurred_at="0001-01-01T00:30:00+01:00"))
    assert isinstance(early, Rejected)
    assert "years 1-9999" in early.reason


def test_non_json_is_rejected() -> None:
    row = build_row(1, "s", b"\xff\xfe garbage")
    assert isinstance(row, Rejected)
    assert row.reason.startswith("not valid JSON")


def test_copy_line_escapes_what_copy_text_format_needs() -> None:
    data = orjson.dumps(event(message_id="tab\there", note="back\\slash\nnew line\r"))
    row = build_row(7, "billing.message.charged.v1", data)
    assert isinstance(row, tuple)
    line = copy_line(row)
    fields = line.rstrip("\n").split("\t")
    assert len(fields) == 13
    assert fields[6] == "tab\\there"
    assert fields[10] == "\\N"  # no country
    assert fields[11] == "\\N"  # no attributes
    assert "\\\\" in fields[12]  # JSON's own backslash escapes are doubled
    assert line.count("\n") == 1


def test_reject_rows_keep_the_bytes_and_bound_the_reason() -> None:
    row = reject_row(9, "subject", b"\x00raw", "x" * 2_000)
    assert row[:3] == (9, "subject", b"\x00raw")
    assert len(row[3]) == MAX_REASON_LENGTH


def test_sequences_come_from_the_ack_subject_with_or_without_a_domain() -> None:
    assert stream_and_consumer_sequence(b"$JS.ACK.BILLING.billing-loader.1.1234.77.1700.9") == (
        1234,
        77,
    )
    assert stream_and_consumer_sequence(
        b"$JS.ACK.hub.ACCHASH.BILLING.billing-loader.2.1234.78.1700.9.token"
    ) == (1234, 78)


LANDING = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
WINDOW = TimeBounds(timedelta(minutes=5), timedelta(days=400)).window(LANDING)


@pytest.mark.parametrize(
    ("occurred_at", "setting"),
    [
        ("2099-01-01T00:00:00Z", "BILLING_MAX_FUTURE_SKEW"),
        ("2026-12-02T04:05:00.001Z", "BILLING_MAX_FUTURE_SKEW"),
        ("2026-12-02T05:05:01+01:00", "BILLING_MAX_FUTURE_SKEW"),
        ("1970-01-01T00:00:00Z", "BILLING_MAX_EVENT_AGE"),
        ("2025-10-28T03:59:59Z", "BILLING_MAX_EVENT_AGE"),
    ],
)
def test_events_outside_the_time_bounds_are_rejected_naming_the_setting(
    occurred_at: str, setting: str
) -> None:
    """Issue 18: a contract-valid 2099 or 1970 event used to land and block closes."""
    row = build_row(1, "s", payload(occurred_at=occurred_at), WINDOW)
    assert isinstance(row, Rejected)
    assert setting in row.reason
    assert occurred_at in row.reason
    assert "2026-12-02T04:00:00Z" in row.reason  # the landing time it is measured from


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-12-02T04:05:00Z",
        "2025-10-28T04:00:00Z",
        "2026-12-02T05:04:59+01:00",
        "2026-10-14T09:30:12z",
    ],
)
def test_events_inside_the_time_bounds_land(occurred_at: str) -> None:
    assert isinstance(build_row(1, "s", payload(occurred_at=occurred_at), WINDOW), tuple)


def test_the_bounds_are_configurable() -> None:
    tight = TimeBounds(timedelta(0), timedelta(days=1)).window(LANDING)
    assert isinstance(
        build_row(1, "s", payload(occurred_at="2026-12-02T04:00:01Z"), tight), Rejected
    )
    assert isinstance(
        build_row(1, "s", payload(occurred_at="2026-12-01T03:59:59Z"), tight), Rejected
    )
    assert isinstance(build_row(1, "s", payload(occurred_at="2026-12-01T04:00:00Z"), tight), tuple)
    assert "1 day" in str(tight.reason("x", LANDING - timedelta(days=2)))


@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_an_instant_outside_years_1_to_9999_in_utc_is_rejected_not_raised(occurred_at: str) -> None:
    row = build_row(1, "s", payload(occurred_at=occurred_at), WINDOW)
    assert isinstance(row, Rejected)
    assert "BILLING_MAX_" in row.reason or "years 1-9999" in row.reason


def test_the_settings_read_both_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLING_MAX_FUTURE_SKEW", raising=False)
    monkeypatch.delenv("BILLING_MAX_EVENT_AGE", raising=False)
    defaults = Settings()
    assert (defaults.max_future_skew, defaults.max_event_age) == (
        timedelta(minutes=5),
        timedelta(days=400),
    )
    monkeypatch.setenv("BILLING_MAX_FUTURE_SKEW", "PT1M")
    monkeypatch.setenv("BILLING_MAX_EVENT_AGE", "86400")
    current = load_settings()
    assert (current.max_future_skew, current.max_event_age) == (
        timedelta(minutes=1),
        timedelta(days=1),
    )
    monkeypatch.setenv("BILLING_MAX_EVENT_AGE", "0")
    with pytest.raises(ConfigurationError, match="BILLING_MAX_EVENT_AGE"):
        load_settings()
