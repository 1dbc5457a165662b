"""The database roles of the service (migration 0001), one name each."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A group role; components switch to theirs at connect (SPEC section 5)."""

    LOADER = "billing_loader"
    TRANSFORMER = "billing_transformer"
    RENDERER = "billing_renderer"
    FINANCE = "billing_finance"
    AUDITOR = "billing_auditor"
    TENANT = "billing_tenant"

    @property
    def url_variable(self) -> str:
        """The variable holding this role's own URL in production: BILLING_LOADER_DATABASE_URL."""
        return f"BILLING_{self.value.removeprefix('billing_').upper()}_DATABASE_URL"
