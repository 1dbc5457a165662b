"""Where documents are kept: a local folder (`file://`) or S3 (`s3://bucket/prefix`, SSE-KMS).

Documents are written once. `put` never replaces an object: if one already exists under the
key with the same sha256 it counts as stored (a rerun after a crash between storing and
recording); with different bytes it raises DocumentConflictError and leaves it alone.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from billing.errors import BillingError, ConfigurationError
from billing.settings import Settings
from invoice_renderer.model import StoredDocument

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PDF_CONTENT_TYPE = "application/pdf"


class DocumentConflictError(BillingError):
    """A different document already exists under the key: documents are never overwritten."""


class DocumentStore(Protocol):
    """Write-once storage of documents by key (invoices/YYYY/MM/NUMBER.pdf, .json, .csv)."""

    def put(self, key: str, data: bytes, content_type: str = PDF_CONTENT_TYPE) -> StoredDocument:
        """Store `data` under `key` unless it is there already; never overwrite."""
        ...

    def get(self, key: str) -> bytes:
        """The stored bytes under `key`."""
        ...

    def uri(self, key: str) -> str:
        """The URI recorded for `key` (file:///… or s3://bucket/…)."""
        ...


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def _conflict(uri: str, existing: str, new: str) -> DocumentConflictError:
    return DocumentConflictError(
        f"{uri} already exists with sha256 {existing}, not the {new} just rendered; documents "
        "are never overwritten. Compare the two (a template or data change since the first "
        "run?) and move the stray object away only if it was never sent to the customer."
    )


class FileStore:
    """Documents under a local folder; each file appears whole (written aside, then linked)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"key {key!r} leaves the documents folder")
        return path

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def _existing(self, path: Path, data: bytes, digest: str) -> StoredDocument:
        existing = sha256_hex(path.read_bytes())
        if existing != digest:
            raise _conflict(path.as_uri(), existing, digest)
        return StoredDocument(path.as_uri(), digest, len(data), created=False)

    def put(self, key: str, data: bytes, content_type: str = PDF_CONTENT_TYPE) -> StoredDocument:
        del content_type  # a file's type is its extension
        path = self._path(key)
        digest = sha256_hex(data)
        if path.exists():
            return self._existing(path, data, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o444)
            try:
                # A hard link fails if the name exists: an atomic create-if-absent.
                os.link(temporary, path)
            except FileExistsError:
                return self._existing(path, data, digest)
        finally:
            os.unlink(temporary)
        return StoredDocument(path.as_uri(), digest, len(data), created=True)


class S3Store:
    """Documents in an S3 bucket, encrypted with the service's KMS key (SSE-KMS)."""

    def __init__(
        self, bucket: str, prefix: str, kms_key_id: str | None, endpoint_url: str | None = None
    ) -> None:
        if not kms_key_id:
            raise ConfigurationError(
                f"documents go to s3://{bucket}/{prefix} but BILLING_S3_KMS_KEY_ID is not set: "
                "invoices are stored only with SSE-KMS under the service's key. Set it to the "
                "key id or ARN (the bucket policy refuses uploads without it)."
            )
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.kms_key_id = kms_key_id
        self.client: S3Client = boto3.client("s3", endpoint_url=endpoint_url)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def get(self, key: str) -> bytes:
        response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        return response["Body"].read()

    def _existing_sha256(self, key: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        recorded = head.get("Metadata", {}).get("sha256")
        return recorded if recorded else sha256_hex(self.get(key))

    def put(self, key: str, data: bytes, content_type: str = PDF_CONTENT_TYPE) -> StoredDocument:
        from botocore.exceptions import ClientError

        digest = sha256_hex(data)
        uri = self.uri(key)
        existing = self._existing_sha256(key)
        if existing is None:
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    Body=data,
                    ContentType=content_type,
                    Metadata={"sha256": digest},
                    ServerSideEncryption="aws:kms",
                    SSEKMSKeyId=self.kms_key_id,
                    # Conditional write: refused if another writer created the key meanwhile.
                    IfNoneMatch="*",
                )
                return StoredDocument(uri, digest, len(data), created=True)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in (
                    "PreconditionFailed",
                    "412",
                    "ConditionalRequestConflict",
                ):
                    raise
            existing = self._existing_sha256(key)
        if existing != digest:
            raise _conflict(uri, str(existing), digest)
        return StoredDocument(uri, digest, len(data), created=False)


def open_store(settings: Settings) -> DocumentStore:
    """The store that settings.documents_uri names (file:///path or s3://bucket/prefix)."""
    uri = settings.documents_uri or (settings.state_dir / "documents").as_uri()
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return FileStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigurationError(f"BILLING_DOCUMENTS_URI {uri!r} names no bucket")
        return S3Store(parts.netloc, parts.path, settings.s3_kms_key_id, settings.s3_endpoint_url)
    raise ConfigurationError(
        f"BILLING_DOCUMENTS_URI {uri!r} is neither file:///path nor s3://bucket/prefix"
    )
