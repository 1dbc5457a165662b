"""Settings from the environment, with local defaults that need nothing installed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

CHARGE_STREAM = "BILLING"
CHARGE_SUBJECTS = ("billing.message.>",)
CHARGE_SUBJECT = "billing.message.charged.v1"
INVOICE_STREAM = "BILLING_INVOICES"
INVOICE_SUBJECTS = ("billing.invoice.>",)
INVOICE_SUBJECT = "billing.invoice.generated.v1"
LOADER_CONSUMER = "billing-loader"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Issuer:
    """Who issues the invoices: printed on every document."""

    name: str = "Relay Messaging Ltd"
    address: str = "1 Harbour Street, London EC1A 1AA, United Kingdom"
    vat_id: str = "GB 123 4567 89"
    email: str = "billing@relay.example"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, read once from the environment."""

    state_dir: Path
    database_url: str | None
    nats_url: str | None
    role_database_urls: dict[str, str] = field(default_factory=dict)
    documents_uri: str = ""
    s3_kms_key_id: str | None = None
    s3_endpoint_url: str | None = None
    close_wait_seconds: float = 60.0
    duplicate_window_seconds: float = 120.0
    issuer: Issuer = field(default_factory=Issuer)

    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"

    @property
    def dagster_home(self) -> Path:
        return self.state_dir / "dagster"


ROLE_URL_VARIABLES = {
    "billing_loader": "BILLING_LOADER_DATABASE_URL",
    "billing_transformer": "BILLING_TRANSFORMER_DATABASE_URL",
    "billing_renderer": "BILLING_RENDERER_DATABASE_URL",
    "billing_finance": "BILLING_FINANCE_DATABASE_URL",
    "billing_auditor": "BILLING_AUDITOR_DATABASE_URL",
}


def load_settings() -> Settings:
    """Read settings from BILLING_* environment variables."""
    state_dir = _env_path("BILLING_STATE_DIR", PROJECT_ROOT / ".billing")
    role_urls = {
        role: os.environ[variable]
        for role, variable in ROLE_URL_VARIABLES.items()
        if os.environ.get(variable)
    }
    return Settings(
        state_dir=state_dir,
        database_url=os.environ.get("BILLING_DATABASE_URL") or None,
        nats_url=os.environ.get("BILLING_NATS_URL") or None,
        role_database_urls=role_urls,
        documents_uri=os.environ.get("BILLING_DOCUMENTS_URI") or (state_dir / "documents").as_uri(),
        s3_kms_key_id=os.environ.get("BILLING_S3_KMS_KEY_ID") or None,
        s3_endpoint_url=os.environ.get("BILLING_S3_ENDPOINT_URL") or None,
        close_wait_seconds=float(os.environ.get("BILLING_CLOSE_WAIT_SECONDS", "60")),
        duplicate_window_seconds=float(os.environ.get("BILLING_DUPLICATE_WINDOW_SECONDS", "120")),
        issuer=Issuer(
            name=os.environ.get("BILLING_ISSUER_NAME", Issuer.name),
            address=os.environ.get("BILLING_ISSUER_ADDRESS", Issuer.address),
            vat_id=os.environ.get("BILLING_ISSUER_VAT_ID", Issuer.vat_id),
            email=os.environ.get("BILLING_ISSUER_EMAIL", Issuer.email),
        ),
    )
