"""Settings: typed, validated once, a bad value named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from billing.errors import ConfigurationError
from billing.roles import Role
from billing.settings import load_settings


def test_defaults_need_nothing_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BILLING_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("BILLING_DATABASE_URL", raising=False)
    settings = load_settings()
    assert settings.state_dir == tmp_path.resolve()
    assert settings.documents_uri == (tmp_path / "documents").resolve().as_uri()
    assert settings.close_wait_seconds == 60
    assert settings.database_url is None
    assert settings.issuer.name


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_DATABASE_URL", "")
    monkeypatch.setenv("BILLING_CLOSE_WAIT_SECONDS", "")
    settings = load_settings()
    assert settings.database_url is None
    assert settings.close_wait_seconds == 60


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BILLING_CLOSE_WAIT_SECONDS", "abc"),
        ("BILLING_CLOSE_WAIT_SECONDS", "-1"),
        ("BILLING_DUPLICATE_WINDOW_SECONDS", "0"),
        ("BILLING_PREVIEW_CRON", "hourly"),
        ("BILLING_PREVIEW_EVENT_THRESHOLD", "0"),
        ("BILLING_PREVIEW_MAX_AGE", "soon"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    message = str(refused.value)
    assert f"{variable}={value!r}" in message
    assert "\n" not in message


def test_role_urls_come_from_their_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(Role.LOADER.url_variable, "postgresql://loader@db/billing")
    settings = load_settings()
    assert Role.LOADER.url_variable == "BILLING_LOADER_DATABASE_URL"
    assert settings.role_database_urls == {Role.LOADER: "postgresql://loader@db/billing"}


def test_overrides_are_validated_and_none_is_ignored() -> None:
    settings = load_settings()
    assert settings.with_overrides(close_wait_seconds=5, nats_url=None).close_wait_seconds == 5
    assert settings.with_overrides() is settings
    with pytest.raises(ValueError, match="close_wait_seconds"):
        settings.with_overrides(close_wait_seconds="soon")
