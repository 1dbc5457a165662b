"""The resource every domain shares: where the billing data lives."""

from __future__ import annotations

import dagster as dg

from billing import db, localservices
from billing.roles import Role
from billing.settings import Settings, load_settings


class BillingResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where the billing data lives: overrides of the settings only. Unset fields come from
    the environment (BILLING_*) and, for the URLs, from the embedded services that
    `billing services up` started; per-run choices are run config (dg.Config) of their step."""

    database_url: str | None = None
    nats_url: str | None = None
    state_dir: str | None = None
    documents_uri: str | None = None
    close_wait_seconds: float | None = None
    preview_cron: str | None = None
    preview_event_threshold: int | None = None

    def settings(self) -> Settings:
        """load_settings() with this resource's overrides."""
        return load_settings().with_overrides(
            state_dir=self.state_dir,
            database_url=self.database_url,
            nats_url=self.nats_url,
            documents_uri=self.documents_uri,
            close_wait_seconds=self.close_wait_seconds,
            preview_cron=self.preview_cron,
            preview_event_threshold=self.preview_event_threshold,
        )

    def owner_database_url(self) -> str:
        """The database (owner) URL alone: for what needs no NATS (the preview)."""
        return localservices.resolve_database_url(self.settings())

    def endpoints(self) -> localservices.Endpoints:
        """The database (owner) and NATS URLs."""
        return localservices.resolve_endpoints(self.settings())

    def role_url(self, role: Role) -> tuple[str, str | None]:
        """URL to connect as `role` and the role to SET (db.role_url)."""
        return db.role_url(self.settings(), self.endpoints().database_url, role)
