"""The sample generators: deterministic, realistic, and consistent with each other."""

from __future__ import annotations

import collections
from datetime import date
from pathlib import Path

import orjson

from billing.contracts import check_charge_event
from producers.sample import (
    ACTIVATED_17TH,
    DEACTIVATED_20TH,
    OPERATORS,
    TIER_CHANGE_12TH,
    parse_month,
    sample_accounts,
    sample_events,
    sample_tenant_id,
    write_reference_csvs,
)

OCTOBER = date(2026, 10, 1)
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_committed_sample_csvs_are_what_the_generator_writes(tmp_path: Path) -> None:
    write_reference_csvs(sample_accounts(50, parse_month("2026-10")), tmp_path)
    for name in ("accounts.csv", "account_tiers.csv"):
        assert (tmp_path / name).read_text() == (SAMPLES / name).read_text()


def test_sample_accounts_hold_the_special_cases() -> None:
    accounts = sample_accounts(50, OCTOBER)
    assert [account.tenant_id for account in accounts] == [sample_tenant_id(i) for i in range(50)]
    assert accounts[ACTIVATED_17TH].activated_on == date(2026, 10, 17)
    assert accounts[DEACTIVATED_20TH].deactivated_on == date(2026, 10, 20)
    assert [tier for _, tier in accounts[TIER_CHANGE_12TH].tiers] == ["starter", "business"]
    active_all_month = [a for a in accounts if a.active_on(OCTOBER) and a.deactivated_on is None]
    assert len(active_all_month) > 40
    assert len({account.currency for account in accounts}) == 3
    assert len({tier for account in accounts for _, tier in account.tiers}) == 3


def test_sample_events_are_valid_deterministic_and_varied() -> None:
    events = list(sample_events(OCTOBER, 5_000, 50, seed=3))
    assert events == list(sample_events(OCTOBER, 5_000, 50, seed=3))
    assert events != list(sample_events(OCTOBER, 5_000, 50, seed=4))
    assert len(events) == 5_000
    parsed = [check_charge_event(data) for data in events]
    ids = collections.Counter(event["event_id"] for event in parsed)
    duplicated = [event_id for event_id, count in ids.items() if count > 1]
    assert duplicated  # a few re-published events (same bytes)
    assert len(duplicated) < 50
    assert {event["operator_id"] for event in parsed} == set(OPERATORS)
    assert {event["direction"] for event in parsed} == {"outbound", "inbound"}
    segments = collections.Counter(event["segments"] for event in parsed)
    assert segments[1] > segments[2] > segments[3] > 0
    assert max(segments) > 3  # the long tail
    assert any("country" in event for event in parsed)
    assert any("country" not in event for event in parsed)
    assert any("attributes" in event for event in parsed)
    assert all(
        event["occurred_at"].startswith("2026-10")
        for event in parsed
        if event["occurred_at"].endswith("Z")
    )


def test_events_fall_only_on_days_the_tenant_is_active() -> None:
    accounts = {str(account.tenant_id): account for account in sample_accounts(50, OCTOBER)}
    for data in sample_events(OCTOBER, 20_000, 50):
        event = orjson.loads(data)
        day = date.fromisoformat(event["occurred_at"][:10])
        if event["occurred_at"].endswith("Z"):
            assert accounts[event["tenant_id"]].active_on(day), event


def test_every_sample_operator_has_its_display_name_in_the_operators_seed() -> None:
    from tests.support.issued_invoices import OPERATOR_NAMES

    assert set(OPERATOR_NAMES) == set(OPERATORS)
    assert {operator: country for operator, (_, country) in OPERATOR_NAMES.items()} == OPERATORS
