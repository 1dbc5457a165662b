"""Documents in S3 with SSE-KMS, against moto's server over HTTP (S3 and KMS), via boto3."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer

from billing.errors import ConfigurationError
from billing.settings import Settings
from invoice_renderer import render_pending
from invoice_renderer.storage import DocumentConflictError, S3Store
from tests.support.issued_invoices import insert_issued, sample_invoice

BUCKET = "billing-documents"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Fake credentials, a bucket and a KMS key on the moto server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    if BUCKET not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    key = boto3.client("kms", endpoint_url=moto_endpoint).create_key(
        Description="billing documents"
    )["KeyMetadata"]
    return {"s3": s3, "key_id": key["KeyId"], "key_arn": key["Arn"], "endpoint": moto_endpoint}


def s3_settings(
    tmp_path: Path, database_url: str, aws: dict[str, Any], key: str | None
) -> Settings:
    return Settings(
        state_dir=tmp_path,
        database_url=database_url,
        nats_url=None,
        documents_uri=f"s3://{BUCKET}/{tmp_path.name}",
        s3_kms_key_id=key,
        s3_endpoint_url=aws["endpoint"],
    )


def test_documents_are_stored_with_sse_kms_and_the_configured_key(
    tmp_path: Path, database_url: str, aws: dict[str, Any]
) -> None:
    invoices = [sample_invoice(seq, usage_lines=1, late_lines=0) for seq in (1, 2)]
    with psycopg.connect(database_url) as conn:
        for invoice in invoices:
            insert_issued(conn, invoice)
    settings = s3_settings(tmp_path, database_url, aws, aws["key_arn"])

    report = render_pending(settings, database_url, workers=1)

    assert (report.stored, report.failures) == (2, [])
    with psycopg.connect(database_url) as conn:
        recorded = dict(
            conn.execute(
                "select invoice_number, uri from billing.invoice_documents where kind = 'invoice'"
            )
        )
        events = dict(
            conn.execute("select invoice_number, payload from billing.invoice_outbox").fetchall()
        )
    for invoice in invoices:
        key = f"{tmp_path.name}/invoices/2026/10/{invoice.invoice_number}.pdf"
        assert recorded[invoice.invoice_number] == f"s3://{BUCKET}/{key}"
        assert events[invoice.invoice_number]["document_uri"] == f"s3://{BUCKET}/{key}"
        head = aws["s3"].head_object(Bucket=BUCKET, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == aws["key_arn"]
        assert head["ContentType"] == "application/pdf"
        body = aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert body.startswith(b"%PDF-")
        digest = hashlib.sha256(body).hexdigest()
        assert (
            head["Metadata"]["sha256"]
            == digest
            == events[invoice.invoice_number]["document_sha256"]
        )
        # The machine-readable copies beside it, the same way (SSE-KMS, their own type).
        for extension, content_type in (("json", "application/json"), ("csv", "text/csv")):
            copy = aws["s3"].head_object(Bucket=BUCKET, Key=key.replace(".pdf", f".{extension}"))
            assert copy["ServerSideEncryption"] == "aws:kms"
            assert copy["ContentType"].startswith(content_type)


def test_s3_store_never_overwrites(aws: dict[str, Any], tmp_path: Path) -> None:
    store = S3Store(BUCKET, tmp_path.name, aws["key_id"], aws["endpoint"])
    first = store.put("invoices/2026/10/INV-202610-000009.pdf", b"%PDF-1.7 first")
    again = store.put("invoices/2026/10/INV-202610-000009.pdf", b"%PDF-1.7 first")
    assert (first.created, again.created, again.sha256) == (True, False, first.sha256)
    with pytest.raises(DocumentConflictError, match="never overwritten"):
        store.put("invoices/2026/10/INV-202610-000009.pdf", b"%PDF-1.7 second")
    assert store.get("invoices/2026/10/INV-202610-000009.pdf") == b"%PDF-1.7 first"
    head = aws["s3"].head_object(
        Bucket=BUCKET, Key=f"{tmp_path.name}/invoices/2026/10/INV-202610-000009.pdf"
    )
    assert head["SSEKMSKeyId"] == aws["key_id"]


def test_s3_storage_refuses_to_run_without_a_kms_key(
    tmp_path: Path, database_url: str, aws: dict[str, Any]
) -> None:
    with psycopg.connect(database_url) as conn:
        insert_issued(conn, sample_invoice(3, usage_lines=1, late_lines=0))
    settings = s3_settings(tmp_path, database_url, aws, key=None)

    with pytest.raises(ConfigurationError, match="BILLING_S3_KMS_KEY_ID is not set"):
        render_pending(settings, database_url, workers=1)

    listed = aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix=tmp_path.name)
    assert listed.get("KeyCount", 0) == 0
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from billing.invoice_documents").fetchone() == (0,)
