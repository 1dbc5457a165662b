"""Period: the one parser of YYYY-MM and what a billing month is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.errors import BillingError
from billing.periods import InvalidPeriodError, Period

periods = st.builds(Period, st.integers(1, 9998), st.integers(1, 12))


@pytest.mark.parametrize(
    ("label", "start", "end", "days"),
    [
        ("2026-10", date(2026, 10, 1), date(2026, 11, 1), 31),
        ("2026-02", date(2026, 2, 1), date(2026, 3, 1), 28),
        ("2028-02", date(2028, 2, 1), date(2028, 3, 1), 29),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), 31),
        ("2026-04", date(2026, 4, 1), date(2026, 5, 1), 30),
    ],
)
def test_a_month_knows_its_days_and_bounds(label: str, start: date, end: date, days: int) -> None:
    period = Period.parse(label)
    assert (period.start, period.end, period.days) == (start, end, days)
    assert period.end_instant == datetime(end.year, end.month, 1, tzinfo=UTC)
    assert str(period) == period.label == label


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-10", "2026/10", "", "x"])
def test_anything_but_yyyy_mm_is_refused_with_one_message(text: str) -> None:
    with pytest.raises(InvalidPeriodError) as refused:
        Period.parse(text)
    assert str(refused.value) == f"{text!r} is not a month: use YYYY-MM, e.g. 2026-10"
    assert isinstance(refused.value, BillingError)


def test_names_numbers_and_partition_keys() -> None:
    period = Period(2026, 10)
    assert period.name == "October 2026"
    assert period.number == "202610"
    assert period.partition_key == "2026-10-01"
    assert Period.from_partition_key("2026-10-01") == period
    assert Period.of(datetime(2026, 10, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))) == (
        Period(2026, 11)
    )
    assert Period.of(date(2026, 10, 31)) == period
    with pytest.raises(InvalidPeriodError):
        Period(2026, 13)


@given(periods)
def test_next_and_previous_are_inverse_and_adjacent(period: Period) -> None:
    assert period.next().previous() == period
    assert period.next().start == period.end
    assert (period.end - period.start).days == period.days
    assert Period.parse(period.label) == period
    assert period < period.next()
