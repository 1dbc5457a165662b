"""A crash anywhere between storing a PDF and publishing its event loses nothing and sends
nothing twice (issue 6). Failures are injected through the database (a revoked grant makes
the renderer's next write fail, as a crash there would) and through an unreachable NATS."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from billing.contracts import INVOICE_GENERATED_V1, reference_validator
from billing.issued import IssuedInvoice
from billing.settings import INVOICE_STREAM, INVOICE_SUBJECT, Settings
from invoice_renderer import publish_pending, render_pending
from invoice_renderer.publisher import NatsUnavailableError
from tests.support.issued_invoices import insert_issued, sample_invoice


def settings_for(tmp_path: Path, database_url: str, nats_url: str, window: float = 120) -> Settings:
    return Settings(
        state_dir=tmp_path,
        database_url=database_url,
        nats_url=nats_url,
        documents_uri=(tmp_path / "documents").as_uri(),
        duplicate_window_seconds=window,
    )


def issue(database_url: str, count: int) -> list[IssuedInvoice]:
    invoices = [sample_invoice(seq, usage_lines=1, late_lines=0) for seq in range(1, count + 1)]
    with psycopg.connect(database_url) as conn:
        for invoice in invoices:
            insert_issued(conn, invoice)
    return invoices


def owner_sql(database_url: str, statement: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def stream_messages(nats_url: str) -> list[tuple[str, dict[str, Any]]]:
    """(Nats-Msg-Id, payload) of every message in BILLING_INVOICES, in stream order."""
    import nats

    async def read() -> list[tuple[str, dict[str, Any]]]:
        client = await nats.connect(nats_url)
        try:
            jetstream = client.jetstream()
            count = (await jetstream.stream_info(INVOICE_STREAM)).state.messages
            found = []
            for sequence in range(1, count + 1):
                message = await jetstream.get_msg(INVOICE_STREAM, sequence)
                assert message.subject == INVOICE_SUBJECT
                found.append(((message.headers or {})["Nats-Msg-Id"], orjson.loads(message.data)))
            return found
        finally:
            await client.close()

    return asyncio.run(read())


def unpublished(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "select count(*) from billing.invoice_outbox where published_at is null"
        ).fetchone()
    return int(row[0]) if row else -1


def assert_one_valid_event_per_invoice(nats_url: str, invoices: list[IssuedInvoice]) -> None:
    messages = stream_messages(nats_url)
    assert sorted(msg_id for msg_id, _ in messages) == [i.invoice_number for i in invoices]
    validator = reference_validator(INVOICE_GENERATED_V1)
    for msg_id, payload in messages:
        assert payload["invoice_number"] == msg_id
        assert list(validator.iter_errors(payload)) == []


def test_crash_between_storing_and_recording(
    tmp_path: Path, database_url: str, nats_url: str
) -> None:
    invoices = issue(database_url, 2)
    settings = settings_for(tmp_path, database_url, nats_url)
    owner_sql(database_url, "revoke insert on billing.invoice_documents from billing_renderer")

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        render_pending(settings, database_url, workers=1)

    stored = sorted(path.name for path in (tmp_path / "documents").rglob("*.pdf"))
    assert stored == [f"{invoice.invoice_number}.pdf" for invoice in invoices]  # then "crash"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from billing.invoice_outbox").fetchone() == (0,)
    owner_sql(database_url, "grant insert on billing.invoice_documents to billing_renderer")

    report = render_pending(settings, database_url, workers=1)

    # Byte-stable rendering: the rerun finds the same bytes in storage and records them.
    assert (report.stored, report.already_stored, report.events) == (0, 2, 2)
    publish_pending(settings, database_url, nats_url)
    assert_one_valid_event_per_invoice(nats_url, invoices)


def test_crash_between_recording_and_publishing(
    tmp_path: Path, database_url: str, nats_url: str
) -> None:
    invoices = issue(database_url, 2)
    settings = settings_for(tmp_path, database_url, nats_url)
    render_pending(settings, database_url, workers=1)

    with pytest.raises(NatsUnavailableError, match="stay in the outbox"):
        publish_pending(settings, database_url, "nats://127.0.0.1:1")
    assert unpublished(database_url) == 2

    first = publish_pending(settings, database_url, nats_url)
    second = publish_pending(settings, database_url, nats_url)

    assert (first.published, first.duplicates, second.pending) == (2, 0, 0)
    assert unpublished(database_url) == 0
    assert_one_valid_event_per_invoice(nats_url, invoices)


def test_crash_between_sending_and_marking_after_the_duplicate_window(
    tmp_path: Path, database_url: str, nats_url: str
) -> None:
    """Past JetStream's duplicate window, the read-back of the stream prevents a re-send."""
    invoices = issue(database_url, 3)
    settings = settings_for(tmp_path, database_url, nats_url, window=0.5)
    render_pending(settings, database_url, workers=1)
    owner_sql(database_url, "revoke update on billing.invoice_outbox from billing_renderer")

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        publish_pending(settings, database_url, nats_url)

    assert unpublished(database_url) == 3
    assert len(stream_messages(nats_url)) == 3  # sent, then the "crash" before marking
    owner_sql(
        database_url, "grant update (published_at) on billing.invoice_outbox to billing_renderer"
    )
    time.sleep(1.0)  # let the 0.5 s duplicate window pass: only the read-back can help now

    rerun = publish_pending(settings, database_url, nats_url)

    assert (rerun.found_in_stream, rerun.published) == (3, 0)
    assert unpublished(database_url) == 0
    assert_one_valid_event_per_invoice(nats_url, invoices)


def test_within_the_window_jetstream_drops_a_resend(
    tmp_path: Path, database_url: str, nats_url: str
) -> None:
    """The first layer: the same Nats-Msg-Id inside the window is acked as a duplicate."""
    import nats

    invoices = issue(database_url, 1)
    settings = settings_for(tmp_path, database_url, nats_url)
    render_pending(settings, database_url, workers=1)
    publish_pending(settings, database_url, nats_url)

    async def resend() -> bool:
        client = await nats.connect(nats_url)
        try:
            ack = await client.jetstream().publish(
                INVOICE_SUBJECT, b"{}", headers={"Nats-Msg-Id": invoices[0].invoice_number}
            )
            return bool(ack.duplicate)
        finally:
            await client.close()

    assert asyncio.run(resend()) is True
    assert_one_valid_event_per_invoice(nats_url, invoices)
