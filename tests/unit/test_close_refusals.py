"""A refused close is data: the kinds, their metadata entry and their labels."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.closing import BACKFILL_TAG, SCHEDULE_TAG, TRIGGER_TAG, CloseOutcome, trigger_of
from orchestration.refusals import REFUSAL, Refusal, refusal_metadata, refusal_of


@pytest.mark.parametrize("kind", list(Refusal))
def test_a_refusal_survives_its_metadata_and_has_a_label(kind: Refusal) -> None:
    metadata = refusal_metadata(kind)
    assert refusal_of(metadata) is kind
    assert refusal_of({REFUSAL: kind.value}) is kind  # as read back from an event, plain
    assert " " in kind.label  # words for a person, not the identifier


def test_metadata_without_a_known_kind_is_no_refusal() -> None:
    assert refusal_of({}) is None
    assert refusal_of({REFUSAL: dg.MetadataValue.text("tired")}) is None


def test_an_outcome_is_refused_only_by_refusals_without_errors() -> None:
    outcome = CloseOutcome(period="2026-10", run_id="r", success=False)
    outcome.refuse(Refusal.FAILED_CHECKS)
    outcome.refuse(Refusal.BLOCKERS)
    outcome.refuse(Refusal.FAILED_CHECKS)
    assert outcome.refusals == [Refusal.BLOCKERS, Refusal.FAILED_CHECKS]  # enum order, once
    assert outcome.refused
    outcome.errors.append("billing_dbt: a model failed")
    assert not outcome.refused
    assert not CloseOutcome(period="2026-10", run_id="r", success=True).refused


@pytest.mark.parametrize("kind", list(Refusal))
def test_every_refusal_names_the_command_that_resolves_it(kind: Refusal) -> None:
    remedy = kind.remedy("2026-10")
    assert "billing close --month 2026-10" in remedy
    if kind is Refusal.LOADER_BEHIND:
        assert "billing events load --until-idle" in remedy


@pytest.mark.parametrize(
    ("tags", "trigger"),
    [
        ({TRIGGER_TAG: "cli"}, "cli"),
        ({SCHEDULE_TAG: "monthly_close_schedule"}, "schedule"),
        ({BACKFILL_TAG: "abc"}, "backfill"),
        ({}, "ui"),
    ],
)
def test_a_close_run_says_who_launched_it(tags: dict[str, str], trigger: str) -> None:
    assert trigger_of(tags) == trigger
