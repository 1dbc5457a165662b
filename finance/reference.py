"""Import reference data (accounts, account tiers) from CSV: all or nothing, idempotent.

Every row of the file is checked first; one bad row refuses the whole file with its line
number, column and reason, and nothing is written. A good file is upserted in one
transaction: new keys are inserted, changed rows updated (updated_at, updated_by), identical
rows left untouched, so importing the same file twice changes nothing. Rows missing from the
file are kept (an import never deletes), and so are optional columns the file leaves out.
Every change of an account is kept in ref.account_changes (who, when, old -> new) by the
table's trigger (migration 0008), whatever path changed it.
"""

from __future__ import annotations

import _csv
import csv
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

from billing.countries import is_country
from billing.errors import RefusedError

MAX_PROBLEMS_SHOWN: Final = 20
_CURRENCY = re.compile(r"[A-Z]{3}\Z")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\Z")
_TIER = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}\Z")
# Loosely (formats differ by country): letters and digits, with spaces, dots, dashes or
# slashes between them, at least two digits: DE123456789, GB 123 4567 89, CHE-123.456.789 MWST.
_TAX_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 ./-]{0,38}[A-Za-z0-9])?\Z")
MAX_ADDRESS_LINES: Final = 6
DEFAULT_PAYMENT_TERMS_DAYS: Final = 30


class ImportRefusedError(RefusedError):
    """A reference-data CSV was refused; nothing was imported."""


@dataclass(frozen=True)
class Problem:
    """Why one cell or row of the file is refused."""

    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class ImportReport:
    """What an import changed."""

    table: str
    rows: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated


class _RowChecker:
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
class _Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    parse: Callable[[_RowChecker], tuple[Any, ...] | None]
    # Columns a file may leave out: then they are not changed (new rows take the defaults).
    optional: tuple[str, ...] = ()

    @property
    def all_columns(self) -> tuple[str, ...]:
        """The columns of a parsed row, in order: the required ones, then the optional ones."""
        return self.columns + self.optional


def _parse_account(row: _RowChecker) -> tuple[Any, ...] | None:
    tenant_id = row.tenant_id()
    name = row.text("name", max_length=200)
    currency = row.text(
        "currency", max_length=3, pattern=_CURRENCY, what="an ISO 4217 currency code (like EUR)"
    )
    email = row.text("billing_email", max_length=320, pattern=_EMAIL, what="an e-mail address")
    activated_on = row.day("activated_on")
    deactivated_on = row.day("deactivated_on", optional=True)
    if activated_on and deactivated_on and deactivated_on <= activated_on:
        row.refuse(
            "deactivated_on",
            f"{deactivated_on} is not after activated_on {activated_on} "
            "(deactivated_on is the first day the account is no longer active)",
        )
    address = row.address()
    country = row.country()
    tax_id = row.tax_id()
    terms = row.days("payment_terms_days", default=DEFAULT_PAYMENT_TERMS_DAYS)
    if not row.ok:
        return None
    return (
        tenant_id,
        name,
        currency,
        email,
        activated_on,
        deactivated_on,
        address,
        country,
        tax_id,
        terms,
    )


def _parse_tier(row: _RowChecker) -> tuple[Any, ...] | None:
    tenant_id = row.tenant_id()
    tier = row.text(
        "account_tier",
        max_length=64,
        pattern=_TIER,
        what="a tier name (lowercase letters, digits, '_', '.', '-')",
    )
    effective_from = row.day("effective_from")
    if not row.ok:
        return None
    return (tenant_id, tier, effective_from)


ACCOUNTS: Final = _Table(
    "ref.accounts",
    ("tenant_id", "name", "currency", "billing_email", "activated_on", "deactivated_on"),
    ("tenant_id",),
    _parse_account,
    optional=("address", "country", "tax_id", "payment_terms_days"),
)
TIERS: Final = _Table(
    "ref.account_tiers",
    ("tenant_id", "account_tier", "effective_from"),
    ("tenant_id", "effective_from"),
    _parse_tier,
)


_Parsed = tuple[list[tuple[int, tuple[Any, ...]]], list[Problem], tuple[str, ...]]


def _read(path: Path, table: _Table) -> _Parsed:
    """(line, parsed row) for each data row, every problem found, and the file's columns."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefusedError(f"{path}: not UTF-8 text ({error}); nothing imported") from None
    except OSError as error:
        raise ImportRefusedError(f"{path}: cannot read it ({error.strerror})") from None
    nul = text.find("\0")
    if nul >= 0:
        raise ImportRefusedError(
            f"{path} line {text.count(chr(10), 0, nul) + 1}: contains a NUL byte, which no "
            "column may hold (a binary file, or not saved as UTF-8 CSV?); nothing imported"
        )
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        return _parse_rows(path, table, reader)
    except csv.Error as error:
        reason = str(error)
        if "field limit" in reason:
            reason = (
                f"a field is longer than {csv.field_size_limit():,} characters (an unclosed quote?)"
            )
        raise ImportRefusedError(
            f"{path} line {reader.line_num}: not a readable CSV row: {reason}; nothing imported"
        ) from None


def _parse_rows(path: Path, table: _Table, reader: _csv.Reader) -> _Parsed:
    problems: list[Problem] = []
    parsed: list[tuple[int, tuple[Any, ...]]] = []
    header = next(reader, None)
    if header is None:
        raise ImportRefusedError(
            f"{path}: the file is empty; expected the header {','.join(table.columns)}"
        )
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
        raise ImportRefusedError(
            f"{path} line 1: the header must name the columns {', '.join(table.columns)}"
            f"{optional} ({'; '.join(details)}); nothing imported"
        )
    seen: dict[tuple[Any, ...], int] = {}
    line = reader.line_num
    for cells in reader:
        first_line, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        checker = _RowChecker(first_line, {}, problems)
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


def _refuse(path: Path, problems: list[Problem]) -> ImportRefusedError:
    shown = "\n".join(f"  {path} {problem}" for problem in problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    tail = f"\n  ... and {more} more" if more > 0 else ""
    return ImportRefusedError(
        f"{path}: {len(problems)} problem(s), nothing imported; fix the file and import it "
        f"again:\n{shown}{tail}"
    )


def _identifiers(names: tuple[str, ...] | list[str], prefix: str | None = None) -> sql.Composed:
    return sql.SQL(", ").join(
        sql.Identifier(prefix, name) if prefix else sql.Identifier(name) for name in names
    )


def _upsert_sql(table: _Table, columns: tuple[str, ...]) -> sql.Composed:
    """insert ... on conflict do update, touching a row only when a value changed."""
    values = [name for name in columns if name not in table.key]
    return sql.SQL(
        "insert into {table} as current ({columns}) "
        "select {columns} from incoming order by line "
        "on conflict ({key}) do update set {assignments}, "
        "updated_at = now(), updated_by = session_user "
        "where ({current}) is distinct from ({excluded}) "
        "returning (xmax = 0) as inserted"
    ).format(
        table=sql.Identifier(*table.name.split(".")),
        columns=_identifiers(columns),
        key=_identifiers(table.key),
        assignments=sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(name), sql.Identifier("excluded", name))
            for name in values
        ),
        current=_identifiers(values, "current"),
        excluded=_identifiers(values, "excluded"),
    )


def _import(conn: psycopg.Connection[Any], path: Path, table: _Table) -> ImportReport:
    rows, problems, columns = _read(path, table)
    if problems:
        raise _refuse(path, problems)
    positions = [table.all_columns.index(name) for name in columns]
    with conn.transaction():
        # The caller may hold a transaction open across imports (then this is a savepoint).
        conn.execute("drop table if exists pg_temp.incoming")
        conn.execute(
            sql.SQL(
                "create temporary table incoming (line integer, like {} including defaults)"
                " on commit drop"
            ).format(sql.Identifier(*table.name.split(".")))
        )
        with conn.cursor().copy(
            sql.SQL("copy incoming (line, {}) from stdin").format(_identifiers(columns))
        ) as copy:
            for line, row in rows:
                copy.write_row((line, *(row[position] for position in positions)))
        if table is TIERS:
            unknown = conn.execute(
                "select line, tenant_id from incoming where tenant_id not in "
                "(select tenant_id from ref.accounts) order by line"
            ).fetchall()
            if unknown:
                raise _refuse(
                    path,
                    [
                        Problem(
                            line,
                            "tenant_id",
                            f"no account {tenant_id}: import it with "
                            "`billing accounts import` first",
                        )
                        for line, tenant_id in unknown
                    ],
                )
        results = conn.execute(_upsert_sql(table, columns)).fetchall()
        conn.execute("drop table incoming")
    inserted = sum(1 for (was_inserted,) in results if was_inserted)
    return ImportReport(table.name, len(rows), inserted, len(results) - inserted)


def import_accounts(conn: psycopg.Connection[Any], path: Path) -> ImportReport:
    """Upsert ref.accounts from a CSV file (all or nothing)."""
    return _import(conn, path, ACCOUNTS)


def import_tiers(conn: psycopg.Connection[Any], path: Path) -> ImportReport:
    """Upsert ref.account_tiers from a CSV file (all or nothing); accounts must exist."""
    return _import(conn, path, TIERS)
