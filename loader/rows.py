"""From one stream message to one row: a charge row for raw.message_charged, or a rejection.

Pure Python, no servers. The hot path checks the contract with straight-line code whose
patterns, bounds and enums are read from the schema file itself; a message it refuses goes
through `billing.contracts.check_charge_event` (the compiled schema) for the canonical reason,
and tests/contract proves the two agree on every example and on generated cases.

Beyond the contract, a few rules say what PostgreSQL can store (a U+0000 character, an instant
outside years 1-9999 in UTC): such a message is rejected too, with a reason saying so, instead
of failing the batch's COPY.

Beyond what can be stored, a time window says what can be billed (SPEC section 4, issue 18):
an event further ahead of its landing time than BILLING_MAX_FUTURE_SKEW, or older than
BILLING_MAX_EVENT_AGE, is rejected with a reason naming the setting (`TimeWindow`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from billing.contracts import CHARGED_V1, ContractViolation, check_charge_event, schema

REJECT_COLUMNS: Final = ("stream_sequence", "subject", "payload", "reason")

# (stream_sequence, subject, event_id, event_type, occurred_at (RFC 3339 text in UTC),
#  tenant_id, message_id, operator_id, direction, segments, country, attributes (JSON text),
#  payload (JSON text, the message as published))
ChargeRow = tuple[int, str, str, str, str, str, str, str, str, int, str | None, str | None, str]
RejectRow = tuple[int, str, bytes, str]

MAX_REASON_LENGTH: Final = 500
_MISSING: Final = object()
_NUL_ESCAPE: Final = b"\\u0000"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that will go to raw.rejected_messages, with its readable reason."""

    reason: str


@dataclass(frozen=True, slots=True)
class TimeBounds:
    """How far ahead of its landing time, and how long before it, an event may have occurred."""

    max_future_skew: timedelta = timedelta(minutes=5)
    max_event_age: timedelta = timedelta(days=400)

    def window(self, landing: datetime) -> TimeWindow:
        """The window of events landed at `landing` (one per batch)."""
        earliest, latest = landing - self.max_event_age, landing + self.max_future_skew
        return TimeWindow(landing, earliest, latest, self)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The instants an event may have occurred at to be landed at `landing`."""

    landing: datetime
    earliest: datetime
    latest: datetime
    bounds: TimeBounds

    def reason(self, occurred_at: str, instant: datetime) -> str | None:
        """Why an event that occurred at `instant` is out of the window, or None."""
        if instant > self.latest:
            return (
                f"occurred_at {occurred_at} is more than {describe(self.bounds.max_future_skew)} "
                f"ahead of its landing time {_utc(self.landing)} (BILLING_MAX_FUTURE_SKEW)"
            )
        if instant < self.earliest:
            return (
                f"occurred_at {occurred_at} is more than {describe(self.bounds.max_event_age)} "
                f"before its landing time {_utc(self.landing)} (BILLING_MAX_EVENT_AGE)"
            )
        return None


def describe(duration: timedelta) -> str:
    """A duration as people write it: 400 days, 5 minutes, 90 seconds, 1 day 2 hours."""
    seconds = int(duration.total_seconds())
    parts = []
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts) or "0 seconds"


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _schema_pattern(prop: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA-262: `$` is the end of input, which in Python is `\Z`
    # (Python's `$` also matches before a final newline); fastjsonschema translates the same way.
    pattern: str = _PROPERTIES[prop]["pattern"]
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


_SCHEMA: Final = schema(CHARGED_V1)
_PROPERTIES: Final[dict[str, Any]] = _SCHEMA["properties"]
_REQUIRED_KEYS: Final = frozenset(_SCHEMA["required"])
_EVENT_ID = _schema_pattern("event_id").search
_TENANT_ID = _schema_pattern("tenant_id").search
_OCCURRED_AT = _schema_pattern("occurred_at").search
_OPERATOR_ID = _schema_pattern("operator_id").search
_COUNTRY = _schema_pattern("country").search
_EVENT_TYPE: Final[str] = _PROPERTIES["event_type"]["const"]
_DIRECTIONS: Final = frozenset(_PROPERTIES["direction"]["enum"])
_MESSAGE_ID_MIN: Final[int] = _PROPERTIES["message_id"]["minLength"]
_MESSAGE_ID_MAX: Final[int] = _PROPERTIES["message_id"]["maxLength"]
_SEGMENTS_MIN: Final[int] = _PROPERTIES["segments"]["minimum"]
_SEGMENTS_MAX: Final[int] = _PROPERTIES["segments"]["maximum"]


def _integer(value: Any) -> int | None:
    # JSON Schema's "integer" is any number with a zero fractional part (2.0 included), never
    # a boolean; PostgreSQL's integer column wants the int.
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is float and value.is_integer():
        return int(value)
    return None


def satisfies_contract(event: Any) -> bool:
    """True when a parsed message satisfies billing.message.charged.v1 (schema + real instant).

    Equivalent to `check_charge_event` on the parsed value, only faster.
    """
    if type(event) is not dict or not event.keys() >= _REQUIRED_KEYS:
        return False
    event_id = event["event_id"]
    tenant_id = event["tenant_id"]
    occurred_at = event["occurred_at"]
    message_id = event["message_id"]
    operator_id = event["operator_id"]
    segments = event["segments"]
    if type(segments) is not int:
        segments = _integer(segments)
    if (
        type(event_id) is not str
        or not _EVENT_ID(event_id)
        or event["event_type"] != _EVENT_TYPE
        or type(occurred_at) is not str
        or not _OCCURRED_AT(occurred_at)
        or type(tenant_id) is not str
        or not _TENANT_ID(tenant_id)
        or type(message_id) is not str
        or not _MESSAGE_ID_MIN <= len(message_id) <= _MESSAGE_ID_MAX
        or type(operator_id) is not str
        or not _OPERATOR_ID(operator_id)
        or type(event["direction"]) is not str
        or event["direction"] not in _DIRECTIONS
        or segments is None
        or not _SEGMENTS_MIN <= segments <= _SEGMENTS_MAX
    ):
        return False
    country = event.get("country", _MISSING)
    if country is not _MISSING and (type(country) is not str or not _COUNTRY(country)):
        return False
    attributes = event.get("attributes", _MISSING)
    if attributes is not _MISSING:
        if type(attributes) is not dict:
            return False
        for value in attributes.values():
            if type(value) is not str:
                return False
    return _instant(occurred_at) is not None


def _instant(value: str) -> datetime | None:
    # The same parse as billing.contracts (RFC 3339 through fromisoformat, `z` accepted).
    try:
        return datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None


def _contains_nul(value: Any) -> bool:
    if type(value) is str:
        return "\x00" in value
    if type(value) is dict:
        return any("\x00" in key or _contains_nul(item) for key, item in value.items())
    if type(value) is list:
        return any(_contains_nul(item) for item in value)
    return False


def contract_reason(data: bytes) -> str | None:
    """The canonical reason `data` breaks the contract, or None when it satisfies it."""
    try:
        check_charge_event(data)
    except ContractViolation as violation:
        return str(violation)
    return None


def build_row(
    stream_sequence: int, subject: str, data: bytes, window: TimeWindow | None = None
) -> ChargeRow | Rejected:
    """The raw.message_charged row of one message, or why it is rejected.

    With a `window`, an event that occurred outside it is rejected too (the loader always
    passes one; without it only the contract and what PostgreSQL can store are checked).
    """
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        return Rejected(_short(f"not valid JSON: {error}"))
    if not satisfies_contract(event):
        reason = contract_reason(data)
        if reason is not None:
            return Rejected(_short(reason))
        # The reference check accepts what the fast check refused: trust the reference.
        event = check_charge_event(data)
    occurred_at: str = event["occurred_at"]
    if window is not None:
        instant = _instant(occurred_at)
        assert instant is not None  # checked by the contract
        try:
            late_or_early = window.reason(occurred_at, instant)
        except OverflowError:  # not an instant in years 1-9999 in UTC: refused just below
            late_or_early = None
        if late_or_early is not None:
            return Rejected(_short(late_or_early))
    if occurred_at[-1] not in "Zz":
        # PostgreSQL takes offsets up to 15:59 only; hand it the instant in UTC instead.
        instant = _instant(occurred_at)
        assert instant is not None  # checked by the contract
        try:
            occurred_at = instant.astimezone(UTC).isoformat()
        except OverflowError:
            return Rejected(
                f"cannot be stored: occurred_at {occurred_at!r} falls outside years 1-9999 in UTC"
            )
    if _NUL_ESCAPE in data and _contains_nul(event):
        return Rejected(
            "cannot be stored: contains the character U+0000 (\\u0000), which PostgreSQL "
            "text and jsonb cannot hold"
        )
    attributes = event.get("attributes")
    segments = _integer(event["segments"])
    assert segments is not None  # checked by the contract
    return (
        stream_sequence,
        subject,
        event["event_id"],
        event["event_type"],
        occurred_at,
        event["tenant_id"],
        event["message_id"],
        event["operator_id"],
        event["direction"],
        segments,
        event.get("country"),
        None if attributes is None else orjson.dumps(attributes).decode(),
        data.decode(),
    )


def copy_line(row: ChargeRow) -> str:
    """One row in PostgreSQL's COPY text format (tab-separated, backslash escapes, newline).

    Built by hand because it is the hot path: psycopg's generic row writer costs several
    microseconds a row. Only the free-text fields can hold a character COPY must escape; the
    others are fixed by the contract's patterns (uuids, operator ids, country codes, numbers).
    """
    (
        sequence,
        subject,
        event_id,
        event_type,
        occurred_at,
        tenant_id,
        message_id,
        operator_id,
        direction,
        segments,
        country,
        attributes,
        payload,
    ) = row
    return (
        f"{sequence}\t{_escape(subject)}\t{event_id}\t{event_type}\t{occurred_at}\t"
        f"{tenant_id}\t{_escape(message_id)}\t{operator_id}\t{direction}\t{segments}\t"
        f"{_NULL if country is None else country}\t"
        f"{_NULL if attributes is None else _escape(attributes)}\t{_escape(payload)}\n"
    )


_NULL: Final = "\\N"


def _escape(text: str) -> str:
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    return text


def reject_row(stream_sequence: int, subject: str, data: bytes, reason: str) -> RejectRow:
    """The raw.rejected_messages row of one message."""
    return (stream_sequence, subject.replace("\x00", ""), data, _short(reason))


def _short(reason: str) -> str:
    reason = reason.replace("\x00", "\\u0000")
    if len(reason) <= MAX_REASON_LENGTH:
        return reason
    return reason[: MAX_REASON_LENGTH - 1] + "…"
