"""Reading a CSV that people edit (reference data, proposed catalogues): every row checked
first, each problem with its line number, column and reason, and one bad row refuses the whole
file with all of them (up to MAX_PROBLEMS_SHOWN), never a traceback.
"""

from __future__ import annotations

import _csv
import csv
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from billing.countries import is_country
from billing.errors import RefusedError

MAX_PROBLEMS_SHOWN: Final = 20
# Loosely (formats differ by country): letters and digits, with spaces, dots, dashes or
# slashes between them, at least two digits: DE123456789, GB 123 4567 89, CHE-123.456.789 MWST.
_TAX_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 ./-]{0,38}[A-Za-z0-9])?\Z")
MAX_ADDRESS_LINES: Final = 6


@dataclass(frozen=True)
class Problem:
    """Why one cell or row of the file is refused."""

    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


class RowChecker:
    """Parses one CSV row's cells, collecting problems instead of stopping at the first."""

    def __init__(self, line: int, cells: dict[str, str], problems: list[Problem]) -> None:
        self.line = line
        self.cells = cells
        self.problems = problems
        self.ok = True

    def refuse(self, column: str | None, reason: str) -> None:
        self.ok = False
        self.problems.append(Problem(self.line, column, reason))

    def text(
        self,
        column: str,
        *,
        max_length: int,
        pattern: re.Pattern[str] | None = None,
        what: str = "",
    ) -> str:
        value = self.cells[column].strip()
        if not value:
            self.refuse(column, "is empty")
        elif len(value) > max_length:
            self.refuse(column, f"is longer than {max_length} characters")
        elif pattern is not None and not pattern.match(value):
            self.refuse(column, f"{value!r} is not {what}")
        return value

    def tenant_id(self, column: str = "tenant_id") -> str:
        value = self.cells[column].strip()
        try:
            parsed: uuid.UUID | None = uuid.UUID(value)
        except ValueError:
            parsed = None
        if parsed is None or len(value) != len("0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33"):
            self.refuse(
                column, f"{value!r} is not a UUID (like 0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33)"
            )
            return value
        return str(parsed)

    def optional_text(self, column: str) -> str | None:
        """The cell, stripped; None when the column is absent or the cell empty."""
        value = self.cells.get(column, "").strip()
        return value or None

    def address(self, column: str = "address") -> str | None:
        value = self.optional_text(column)
        if value is None:
            return None
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        if len(value) > 500:
            self.refuse(column, "is longer than 500 characters")
        elif len(lines) > MAX_ADDRESS_LINES:
            self.refuse(column, f"has {len(lines)} lines, at most {MAX_ADDRESS_LINES}")
        return "\n".join(lines)

    def country(self, column: str = "country") -> str | None:
        value = self.optional_text(column)
        if value is None:
            return None
        if not is_country(value.upper()):
            self.refuse(
                column,
                f"{value!r} is not an ISO 3166-1 alpha-2 country code (like FR, DE, GB, US)",
            )
        return value.upper()

    def tax_id(self, column: str = "tax_id") -> str | None:
        value = self.optional_text(column)
        if value is None:
            return None
        if not _TAX_ID.match(value) or sum(char.isdigit() for char in value) < 2:
            self.refuse(
                column,
                f"{value!r} is not a tax id (letters and digits, spaces, '.', '-' or '/' "
                "between them, at least two digits; like DE123456789)",
            )
        return value

    def days(self, column: str, *, default: int, maximum: int = 365) -> int:
        value = self.optional_text(column)
        if value is None:
            return default
        if not value.isdigit() or int(value) > maximum:
            self.refuse(column, f"{value!r} is not a number of days from 0 to {maximum}")
            return default
        return int(value)

    def decimal(self, column: str) -> Decimal | None:
        """A decimal number exactly as written (never a float, never rounded)."""
        value = self.cells[column].strip()
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.refuse(column, f"{value!r} is not a decimal number (like 0.0651)")
            return None
        return number

    def day(self, column: str, *, optional: bool = False) -> date | None:
        value = self.cells[column].strip()
        if not value and optional:
            return None
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.refuse(column, f"{value!r} is not a date (YYYY-MM-DD)")
            return None


@dataclass(frozen=True)
class CsvTable:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    parse: Callable[[RowChecker], tuple[Any, ...] | None]
    # Columns a file may leave out: then they are not changed (new rows take the defaults).
    optional: tuple[str, ...] = ()

    @property
    def all_columns(self) -> tuple[str, ...]:
        """The columns of a parsed row, in order: the required ones, then the optional ones."""
        return self.columns + self.optional


Parsed = tuple[list[tuple[int, tuple[Any, ...]]], list[Problem], tuple[str, ...]]


def read_rows(path: Path, table: CsvTable, *, refused: type[RefusedError], outcome: str) -> Parsed:
    """(line, parsed row) for each data row, every problem found, and the file's columns."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise refused(f"{path}: not UTF-8 text ({error}); {outcome}") from None
    except OSError as error:
        raise refused(f"{path}: cannot read it ({error.strerror})") from None
    nul = text.find("\0")
    if nul >= 0:
        raise refused(
            f"{path} line {text.count(chr(10), 0, nul) + 1}: contains a NUL byte, which no "
            f"column may hold (a binary file, or not saved as UTF-8 CSV?); {outcome}"
        )
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        return _parse_rows(path, table, reader, refused, outcome)
    except csv.Error as error:
        reason = str(error)
        if "field limit" in reason:
            reason = (
                f"a field is longer than {csv.field_size_limit():,} characters (an unclosed quote?)"
            )
        raise refused(
            f"{path} line {reader.line_num}: not a readable CSV row: {reason}; {outcome}"
        ) from None


def _parse_rows(
    path: Path,
    table: CsvTable,
    reader: _csv.Reader,
    refused: type[RefusedError],
    outcome: str,
) -> Parsed:
    problems: list[Problem] = []
    parsed: list[tuple[int, tuple[Any, ...]]] = []
    header = next(reader, None)
    if header is None:
        raise refused(f"{path}: the file is empty; expected the header {','.join(table.columns)}")
    header = [name.strip() for name in header]
    missing = [name for name in table.columns if name not in header]
    unknown = [name for name in header if name not in table.all_columns]
    if missing or unknown or len(set(header)) != len(header):
        details = []
        if missing:
            details.append(f"missing {', '.join(missing)}")
        if unknown:
            details.append(f"unknown {', '.join(unknown)}")
        if len(set(header)) != len(header):
            details.append("a column appears twice")
        optional = f" and may name {', '.join(table.optional)}" if table.optional else ""
        raise refused(
            f"{path} line 1: the header must name the columns {', '.join(table.columns)}"
            f"{optional} ({'; '.join(details)}); {outcome}"
        )
    seen: dict[tuple[Any, ...], int] = {}
    line = reader.line_num
    for cells in reader:
        first_line, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        checker = RowChecker(first_line, {}, problems)
        if len(cells) != len(header):
            checker.refuse(None, f"has {len(cells)} fields, the header has {len(header)}")
            continue
        checker.cells = dict(zip(header, cells, strict=True))
        row = table.parse(checker)
        if row is None:
            continue
        key = tuple(row[table.all_columns.index(name)] for name in table.key)
        if key in seen:
            checker.refuse(
                ", ".join(table.key),
                f"duplicate key {', '.join(map(str, key))} (already on line {seen[key]})",
            )
            continue
        seen[key] = first_line
        parsed.append((first_line, row))
    present = table.columns + tuple(name for name in table.optional if name in header)
    return parsed, problems, present


def refusal(
    path: Path, problems: list[Problem], *, refused: type[RefusedError], outcome: str
) -> RefusedError:
    shown = "\n".join(f"  {path} {problem}" for problem in problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    tail = f"\n  ... and {more} more" if more > 0 else ""
    return refused(
        f"{path}: {len(problems)} problem(s), {outcome}; fix the file and try again:\n{shown}{tail}"
    )
