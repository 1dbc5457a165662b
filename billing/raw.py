"""The landing table raw.message_charged (migration 0002), as its writers and checks see it."""

from __future__ import annotations

from typing import Final

# The columns the loader writes, in COPY order (landed_at is the database's default).
CHARGE_COLUMNS: Final = (
    "stream_sequence",
    "subject",
    "event_id",
    "event_type",
    "occurred_at",
    "tenant_id",
    "message_id",
    "operator_id",
    "direction",
    "segments",
    "country",
    "attributes",
    "payload",
)
# Every column of the table.
ALL_COLUMNS: Final = (*CHARGE_COLUMNS, "landed_at")
