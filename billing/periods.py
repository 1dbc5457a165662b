"""The billing period: a UTC calendar month, parsed from `YYYY-MM` in one place."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from billing.errors import RefusedError

_LABEL = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


class InvalidPeriodError(RefusedError, ValueError):
    """Text that is not a month in the form YYYY-MM."""


@dataclass(frozen=True, order=True)
class Period:
    """One billing period (SPEC section 4: an event's period is its UTC calendar month)."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and 1 <= self.year <= 9999):
            raise InvalidPeriodError(f"{self.year}-{self.month} is not a month")

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2026-10' -> Period(2026, 10); anything else is refused with one message."""
        match = _LABEL.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InvalidPeriodError(f"{text!r} is not a month: use YYYY-MM, e.g. 2026-10")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Period:
        """The period a date (or a UTC datetime) falls in."""
        if isinstance(day, datetime) and day.tzinfo is not None:
            day = day.astimezone(UTC)
        return cls(day.year, day.month)

    @classmethod
    def from_partition_key(cls, key: str) -> Period:
        """'2026-10-01' (a Dagster monthly partition) -> Period(2026, 10)."""
        return cls.parse(key[:7])

    @property
    def label(self) -> str:
        """YYYY-MM, as stored in billing tables and passed to dbt."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def number(self) -> str:
        """YYYYMM, as in invoice numbers INV-YYYYMM-NNNNNN."""
        return f"{self.year:04d}{self.month:02d}"

    @property
    def partition_key(self) -> str:
        """The Dagster monthly partition key: YYYY-MM-01."""
        return f"{self.label}-01"

    @property
    def start(self) -> date:
        """The first day."""
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """The first day after the period (exclusive end)."""
        return self.next().start

    @property
    def start_instant(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end_instant(self) -> datetime:
        """The first instant after the period, UTC."""
        return self.next().start_instant

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def name(self) -> str:
        """'October 2026', as printed on documents."""
        return f"{calendar.month_name[self.month]} {self.year}"

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def __str__(self) -> str:
        return self.label
