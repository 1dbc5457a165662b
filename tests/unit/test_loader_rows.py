"""From message bytes to a raw row or a rejection: pure code, no servers."""

from __future__ import annotations

import orjson
import pytest

from loader.consumer import stream_and_consumer_sequence
from loader.rows import MAX_REASON_LENGTH, Rejected, build_row, copy_line, reject_row
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
