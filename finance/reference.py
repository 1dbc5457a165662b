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

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

from billing.errors import RefusedError
from finance.csv_rows import CsvTable, Problem, RowChecker, read_rows, refusal

NOTHING_IMPORTED: Final = "nothing imported"
_CURRENCY = re.compile(r"[A-Z]{3}\Z")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\Z")
_TIER = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}\Z")
DEFAULT_PAYMENT_TERMS_DAYS: Final = 30


class ImportRefusedError(RefusedError):
    """A reference-data CSV was refused; nothing was imported."""


def _refuse(path: Path, problems: list[Problem]) -> RefusedError:
    return refusal(path, problems, refused=ImportRefusedError, outcome=NOTHING_IMPORTED)


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


def _parse_account(row: RowChecker) -> tuple[Any, ...] | None:
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


def _parse_tier(row: RowChecker) -> tuple[Any, ...] | None:
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


ACCOUNTS: Final = CsvTable(
    "ref.accounts",
    ("tenant_id", "name", "currency", "billing_email", "activated_on", "deactivated_on"),
    ("tenant_id",),
    _parse_account,
    optional=("address", "country", "tax_id", "payment_terms_days"),
)
TIERS: Final = CsvTable(
    "ref.account_tiers",
    ("tenant_id", "account_tier", "effective_from"),
    ("tenant_id", "effective_from"),
    _parse_tier,
)


def _identifiers(names: tuple[str, ...] | list[str], prefix: str | None = None) -> sql.Composed:
    return sql.SQL(", ").join(
        sql.Identifier(prefix, name) if prefix else sql.Identifier(name) for name in names
    )


def _upsert_sql(table: CsvTable, columns: tuple[str, ...]) -> sql.Composed:
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


def _import(conn: psycopg.Connection[Any], path: Path, table: CsvTable) -> ImportReport:
    rows, problems, columns = read_rows(
        path, table, refused=ImportRefusedError, outcome=NOTHING_IMPORTED
    )
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
