"""Streams are ensured idempotently; the loader's role can append and nothing more."""

from __future__ import annotations

import asyncio

import nats
import psycopg
import pytest
from nats.js.api import StreamConfig
from psycopg import errors

from billing import db
from billing.settings import CHARGE_STREAM, INVOICE_STREAM
from billing.streams import ensure_streams
from tests.support.ingest import stream_info


def test_streams_are_created_then_left_alone_then_narrowed(nats_url: str) -> None:
    async def scenario() -> list[dict[str, str]]:
        client = await nats.connect(nats_url)
        js = client.jetstream()
        try:
            # A legacy BILLING capturing billing.> would overlap the invoice stream.
            await js.add_stream(StreamConfig(name=CHARGE_STREAM, subjects=["billing.>"]))
            return [await ensure_streams(js, 90.0), await ensure_streams(js, 90.0)]
        finally:
            await client.close()

    first, second = asyncio.run(scenario())
    assert first == {CHARGE_STREAM: "updated", INVOICE_STREAM: "created"}
    assert second == {CHARGE_STREAM: "unchanged", INVOICE_STREAM: "unchanged"}
    charges = stream_info(nats_url, CHARGE_STREAM).config
    assert charges.subjects == ["billing.message.>"]
    assert charges.duplicate_window == 90.0
    assert stream_info(nats_url, INVOICE_STREAM).config.subjects == ["billing.invoice.>"]


@pytest.mark.parametrize("table", ["raw.message_charged", "raw.rejected_messages"])
@pytest.mark.parametrize(
    "statement",
    [
        "update {table} set subject = 'x'",
        "delete from {table}",
        "truncate {table}",
        "select count(*) from {table}",
    ],
)
def test_the_loader_role_cannot_change_or_read_raw_events(
    database_url: str, table: str, statement: str
) -> None:
    with (
        db.connect(database_url, role="billing_loader", autocommit=True) as conn,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        conn.execute(statement.format(table=table))


def test_the_loader_role_reads_no_billing_or_reference_table(database_url: str) -> None:
    with psycopg.connect(database_url) as owner:
        tables = [
            f"{schema}.{name}"
            for schema, name in owner.execute(
                "select schemaname, tablename from pg_tables "
                "where schemaname in ('billing', 'ref', 'catalogue')"
            )
        ]
    assert any(table.startswith("billing.") for table in tables)
    with db.connect(database_url, role="billing_loader", autocommit=True) as conn:
        for table in tables:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table} limit 1")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                "insert into ref.accounts (tenant_id, name, currency, billing_email, "
                "activated_on) values (gen_random_uuid(), 'x', 'EUR', 'a@b.c', current_date)"
            )


def test_the_loader_role_appends_and_moves_only_its_checkpoint(database_url: str) -> None:
    with db.connect(database_url, role="billing_loader", autocommit=True) as conn:
        conn.execute(
            "insert into raw.rejected_messages (stream_sequence, subject, payload, reason) "
            "values (1, 's', '\\x00', 'test')"
        )
        conn.execute(
            "insert into raw.loader_checkpoints (consumer_name, stream_name, "
            "last_stream_sequence) values ('billing-loader', 'BILLING', 1)"
        )
        conn.execute("update raw.loader_checkpoints set last_stream_sequence = 2")
        row = conn.execute("select last_stream_sequence from raw.loader_checkpoints").fetchone()
        assert row == (2,)
