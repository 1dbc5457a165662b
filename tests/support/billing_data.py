"""Builders for accounts, tiers, catalogues and landed events in a test database.

They write the same tables the CLI and the loader write (ref.*, raw.message_charged,
catalogue.*), so the dbt project is exercised exactly as in production.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg

CHARGED = "billing.message.charged.v1"


@dataclass(frozen=True)
class Event:
    tenant_id: uuid.UUID
    occurred_at: datetime
    operator_id: str = "orange_fr"
    direction: str = "outbound"
    segments: int = 1
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    message_id: str = "m-1"
    extra: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "event_type": CHARGED,
            "occurred_at": self.occurred_at.isoformat(),
            "tenant_id": str(self.tenant_id),
            "message_id": self.message_id,
            "operator_id": self.operator_id,
            "direction": self.direction,
            "segments": self.segments,
            **self.extra,
        }


def at(day: str, time: str = "12:00:00") -> datetime:
    """A UTC instant from 'YYYY-MM-DD' and 'HH:MM:SS'."""
    return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC)


def add_account(
    conn: psycopg.Connection[Any],
    tenant_id: uuid.UUID,
    *,
    currency: str = "EUR",
    activated_on: date = date(2025, 1, 1),
    deactivated_on: date | None = None,
    tier: str | None = "starter",
    tier_from: date | None = None,
    name: str | None = None,
) -> uuid.UUID:
    """An account (and, unless tier is None, its first tier from activated_on)."""
    conn.execute(
        "insert into ref.accounts (tenant_id, name, currency, billing_email, activated_on,"
        " deactivated_on) values (%s, %s, %s, %s, %s, %s)",
        (
            tenant_id,
            name or f"Tenant {str(tenant_id)[:8]}",
            currency,
            f"ap-{str(tenant_id)[:8]}@example.com",
            activated_on,
            deactivated_on,
        ),
    )
    if tier is not None:
        add_tier(conn, tenant_id, tier, tier_from or activated_on)
    return tenant_id


def add_tier(conn: psycopg.Connection[Any], tenant_id: uuid.UUID, tier: str, since: date) -> None:
    conn.execute(
        "insert into ref.account_tiers (tenant_id, account_tier, effective_from)"
        " values (%s, %s, %s)",
        (tenant_id, tier, since),
    )


def land_events(conn: psycopg.Connection[Any], events: Iterable[Event]) -> int:
    """COPY events into raw.message_charged after the highest stream sequence; returns count."""
    start = conn.execute(
        "select coalesce(max(stream_sequence), 0) from raw.message_charged"
    ).fetchone()
    assert start is not None
    sequence = int(start[0])
    count = 0
    with conn.cursor().copy(
        "copy raw.message_charged (stream_sequence, subject, event_id, event_type, occurred_at,"
        " tenant_id, message_id, operator_id, direction, segments, payload) from stdin"
    ) as copy:
        for event in events:
            sequence += 1
            count += 1
            copy.write_row(
                (
                    sequence,
                    CHARGED,
                    event.event_id,
                    CHARGED,
                    event.occurred_at,
                    event.tenant_id,
                    event.message_id,
                    event.operator_id,
                    event.direction,
                    event.segments,
                    json.dumps(event.payload()),
                )
            )
    return count


@dataclass(frozen=True)
class PriceRule:
    rule_id: str
    account_tier: str
    operator_id: str
    direction: str
    currency: str
    unit_price: Decimal
    effective_from: date = date(2025, 1, 1)
    effective_to: date | None = None


@dataclass(frozen=True)
class OperatorCost:
    cost_id: str
    operator_id: str
    direction: str
    currency: str
    unit_cost: Decimal
    effective_from: date = date(2025, 1, 1)
    effective_to: date | None = None


@dataclass(frozen=True)
class TierFee:
    fee_id: str
    account_tier: str
    currency: str
    monthly_fee: Decimal
    effective_from: date = date(2025, 1, 1)
    effective_to: date | None = None


def set_catalogues(
    conn: psycopg.Connection[Any],
    *,
    pricing_rules: Sequence[PriceRule] | None = None,
    operator_costs: Sequence[OperatorCost] | None = None,
    tier_fees: Sequence[TierFee] | None = None,
) -> None:
    """Replace the content of catalogue tables (after `dbt seed` created them)."""
    tables: list[tuple[str, Sequence[Any] | None]] = [
        ("pricing_rules", pricing_rules),
        ("operator_costs", operator_costs),
        ("tier_fees", tier_fees),
    ]
    for table, rows in tables:
        if rows is None:
            continue
        conn.execute(f"delete from catalogue.{table}")
        for row in rows:
            values = list(vars(row).values())
            placeholders = ", ".join(["%s"] * len(values))
            columns = ", ".join(vars(row).keys())
            conn.execute(
                f"insert into catalogue.{table} ({columns}) values ({placeholders})",
                values,
            )
