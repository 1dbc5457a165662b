"""Settings from BILLING_* environment variables, typed and validated once.

Local defaults need nothing installed: no URL means the embedded services of `billing services up`.
A bad value (a number that is not one, a port out of range) is refused by `load_settings()`
with one line naming the variable, never a traceback.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from billing.errors import ConfigurationError
from billing.roles import Role

PROJECT_ROOT = Path(__file__).resolve().parent.parent

CHARGE_STREAM = "BILLING"
CHARGE_SUBJECTS = ("billing.message.>",)
CHARGE_SUBJECT = "billing.message.charged.v1"
INVOICE_STREAM = "BILLING_INVOICES"
INVOICE_SUBJECTS = ("billing.invoice.>",)
INVOICE_SUBJECT = "billing.invoice.generated.v1"
LOADER_CONSUMER = "billing-loader"

ENV_PREFIX = "BILLING_"

Seconds = Annotated[float, Field(ge=0)]
PositiveSeconds = Annotated[float, Field(gt=0)]
Duration = Annotated[timedelta, Field(ge=timedelta(0))]
PositiveDuration = Annotated[timedelta, Field(gt=timedelta(0))]
# Five cron fields (minute hour day month weekday), as Dagster schedules take them.
CronString = Annotated[str, Field(pattern=r"^[0-9A-Za-z*/,-]+( +[0-9A-Za-z*/,-]+){4}$")]


@dataclass(frozen=True)
class Issuer:
    """Who issues the invoices: printed on every document."""

    name: str = "Relay Messaging Ltd"
    address: str = "1 Harbour Street, London EC1A 1AA, United Kingdom"
    vat_id: str = "GB 123 4567 89"
    email: str = "billing@relay.example"


@dataclass(frozen=True)
class TaxStatement:
    """What every invoice says about tax, and why (SPEC section 4: no tax is charged).

    A reverse-charge wording, for example: statement "Reverse charge", reason "VAT to be
    accounted for by the recipient (Article 196, Council Directive 2006/112/EC)".
    """

    statement: str = "Tax not charged"
    reason: str = "amounts are net; no VAT or other tax is calculated or charged on this invoice"


class Settings(BaseSettings):
    """Everything configurable. Field `x` is read from BILLING_X (case-insensitive)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    state_dir: Path = PROJECT_ROOT / ".billing"
    database_url: str | None = None
    nats_url: str | None = None
    # Production: one URL per component role (from Vault); locally the owner URL + SET ROLE.
    loader_database_url: str | None = None
    transformer_database_url: str | None = None
    renderer_database_url: str | None = None
    finance_database_url: str | None = None
    auditor_database_url: str | None = None
    documents_uri: str = ""
    s3_kms_key_id: str | None = None
    s3_endpoint_url: str | None = None
    close_wait_seconds: Seconds = 60.0
    duplicate_window_seconds: PositiveSeconds = 120.0
    # The loader's time bounds (docs/loader.md): an event further ahead of its landing time,
    # or older, is rejected with its reason. Seconds, or ISO 8601 durations (PT5M, P400D).
    max_future_skew: Duration = timedelta(minutes=5)
    max_event_age: PositiveDuration = timedelta(days=400)
    # `billing exporter`: how often it reads the warehouse-side metrics, and the bounds of
    # each query (it never waits behind the close's locks: docs/observability.md).
    exporter_refresh_seconds: PositiveSeconds = 30.0
    exporter_statement_timeout_seconds: PositiveSeconds = 5.0
    exporter_lock_timeout_seconds: PositiveSeconds = 1.0
    # The current month's preview in Dagster (docs/preview.md): the schedule's cron (UTC), the
    # new landed events that make the sensor request a refresh, and the age past which the
    # asset is shown as not fresh.
    preview_cron: CronString = "0 * * * *"
    preview_event_threshold: Annotated[int, Field(ge=1)] = 10_000
    preview_max_age: Annotated[timedelta, Field(ge=timedelta(minutes=1))] = timedelta(hours=2)
    issuer_name: str = Issuer.name
    issuer_address: str = Issuer.address
    issuer_vat_id: str = Issuer.vat_id
    issuer_email: str = Issuer.email
    # Printed on every invoice; stored with each invoice when it is issued (its snapshot).
    tax_statement: Annotated[str, Field(min_length=1, max_length=100)] = TaxStatement.statement
    tax_reason: Annotated[str, Field(min_length=1, max_length=300)] = TaxStatement.reason
    # The CLI shows the traceback of an unexpected error (as `billing --debug`).
    debug: bool = False

    @field_validator("max_future_skew", "max_event_age", "preview_max_age", mode="before")
    @classmethod
    def _seconds_or_duration(cls, value: Any) -> Any:
        # "300" means seconds (pydantic reads a number, not a string of one, that way).
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
        return value

    @field_validator("state_dir")
    @classmethod
    def _absolute(cls, state_dir: Path) -> Path:
        return state_dir.expanduser().resolve()

    @model_validator(mode="before")
    @classmethod
    def _documents_under_state_dir(cls, data: Any) -> Any:
        # The default document store is a folder of the state directory.
        if isinstance(data, dict) and not data.get("documents_uri"):
            state_dir = Path(data.get("state_dir") or PROJECT_ROOT / ".billing")
            data = {
                **data,
                "documents_uri": (state_dir.expanduser().resolve() / "documents").as_uri(),
            }
        return data

    @property
    def issuer(self) -> Issuer:
        return Issuer(self.issuer_name, self.issuer_address, self.issuer_vat_id, self.issuer_email)

    @property
    def tax(self) -> TaxStatement:
        return TaxStatement(self.tax_statement, self.tax_reason)

    @property
    def role_database_urls(self) -> dict[Role, str]:
        """The dedicated URL of each component role that has one."""
        urls = {
            Role.LOADER: self.loader_database_url,
            Role.TRANSFORMER: self.transformer_database_url,
            Role.RENDERER: self.renderer_database_url,
            Role.FINANCE: self.finance_database_url,
            Role.AUDITOR: self.auditor_database_url,
        }
        return {role: url for role, url in urls.items() if url}

    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"

    @property
    def dagster_home(self) -> Path:
        return self.state_dir / "dagster"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields replaced (None values are ignored), validated again."""
        values = {name: value for name, value in changes.items() if value is not None}
        if not values:
            return self
        return type(self).model_validate({**self.model_dump(), **values})


def variable_name(field: str) -> str:
    """The environment variable of a settings field: state_dir -> BILLING_STATE_DIR."""
    return f"{ENV_PREFIX}{field.upper()}"


def describe_invalid(error: ValidationError) -> str:
    """One line per invalid setting: the variable, its value and what it should be."""
    problems = []
    for detail in error.errors():
        field = ".".join(str(part) for part in detail["loc"]) or "settings"
        value = detail.get("input")
        shown = f"={value!r}" if isinstance(value, str | int | float) else ""
        problems.append(f"{variable_name(field)}{shown}: {detail['msg'].lower()}")
    return "; ".join(problems)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate BILLING_* variables; ConfigurationError names any bad one."""
    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as error:
        raise ConfigurationError(
            f"invalid setting: {describe_invalid(error)}; fix the variable and try again"
        ) from None
