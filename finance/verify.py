"""Verify an issued month (issue 21, docs/finance-tools.md): each issue transaction of the month
(its first close, and any replacement run) computed again by the close's own dbt models in a
scratch schema, from what it was computed from then, and compared with what it issued, invoice
by invoice, line by line and event by event, to the cent.

What a close was computed from (migration 0026, written by its issue step): the exact rows of
every catalogue seed and of ref.accounts and ref.account_tiers (billing.close_inputs), the
last raw stream sequence staged, the last close before it, the number of voids and the last
Finance exclusion (billing.period_closes). The scratch build reads those: the seeds from the
recorded rows, the accounts and tiers as recorded, the raw events up to that sequence, the
issued record and the exclusions as they stood. Today's CSVs and accounts play no part, so a
month verifies after they changed, and a changed issued row does not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from billing import db
from billing.errors import RefusedError
from billing.periods import Period
from billing.roles import Role
from billing.settings import Settings
from finance.whatif import OTHER_SEEDS, TABLES, csv_bytes
from warehouse.scratch import ScratchBuild, scratch_build

BUILD: Final = (
    "build",
    "--select", "+invoice_drafts", "+invoice_draft_lines", "+invoice_draft_events",
    "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
)  # fmt: skip
SEED_COLUMNS: Final = {table.name: table.columns for table in TABLES.values()} | OTHER_SEEDS
REFERENCE_INPUTS: Final = ("accounts", "account_tiers")
INVOICE_COLUMNS: Final = (
    "tenant_id", "currency", "subtotal", "total", "line_count", "replaces_invoice_number",
)  # fmt: skip
LINE_COLUMNS: Final = (
    "line_type", "description", "usage_period", "operator_id", "direction", "account_tier",
    "rule_id", "fee_id", "quantity", "unit_price", "amount", "service_start", "service_end",
    "period_days",
)  # fmt: skip
MAX_DIFFERENCES_SHOWN: Final = 50


class VerifyRefusedError(RefusedError):
    """The month cannot be verified (not closed, or closed before its inputs were recorded)."""


@dataclass(frozen=True)
class IssueRun:
    """One issue transaction of the month (billing.period_closes)."""

    close_id: int
    kind: str
    closed_at: datetime
    through_stream_sequence: int | None
    built_after_close_id: int | None
    void_count: int | None
    last_exclusion_id: int | None


@dataclass
class RunCheck:
    """What one issue run's recomputation gave, against what it issued."""

    run: IssueRun
    invoices: int = 0
    lines: int = 0
    events: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class VerifyReport:
    period: str
    runs: Sequence[RunCheck]

    @property
    def identical(self) -> bool:
        return all(run.identical for run in self.runs)


def _runs(conn: psycopg.Connection[Any], period: Period) -> list[IssueRun]:
    with conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            "select close_id, kind, closed_at, through_stream_sequence, built_after_close_id,"
            " void_count, last_exclusion_id from billing.period_closes where period = %s"
            " order by close_id",
            (period.label,),
        ).fetchall()
    return [IssueRun(**row) for row in rows]


def _inputs(conn: psycopg.Connection[Any], run: IssueRun) -> dict[str, list[dict[str, Any]]]:
    rows = conn.execute(
        "select input, rows::text from billing.close_inputs where close_id = %s", (run.close_id,)
    ).fetchall()
    # Numbers exactly as recorded (jsonb keeps numeric), never through a float.
    return {str(name): json.loads(text, parse_float=Decimal) for name, text in rows}


def _seeds(inputs: dict[str, list[dict[str, Any]]]) -> dict[str, bytes]:
    return {
        name: csv_bytes(columns, ([row.get(column) for column in columns] for row in inputs[name]))
        for name, columns in SEED_COLUMNS.items()
    }


def _literal(value: object) -> sql.Composable:
    return sql.Literal(value)


def _state_of(run: IssueRun) -> Any:
    """Prepares a scratch schema with the sources as they stood when `run` was built."""

    def prepare(conn: psycopg.Connection[Any], schema: str) -> None:
        def create(name: str, query: str, **values: object) -> None:
            conn.execute(
                sql.SQL("create view {}.{} as " + query).format(
                    sql.Identifier(schema),
                    sql.Identifier(name),
                    scratch=sql.Identifier(schema),
                    **{key: _literal(value) for key, value in values.items()},
                )
            )

        create(
            "message_charged",
            "select * from raw.message_charged where stream_sequence <= {through}",
            through=run.through_stream_sequence,
        )
        create("rejected_messages", "select * from raw.rejected_messages")
        for table in REFERENCE_INPUTS:
            conn.execute(
                sql.SQL(
                    "create table {scratch}.{table} as select * from jsonb_populate_recordset("
                    "null::ref.{table}, (select rows from billing.close_inputs"
                    " where close_id = {close} and input = {input}))"
                ).format(
                    scratch=sql.Identifier(schema),
                    table=sql.Identifier(table),
                    close=_literal(run.close_id),
                    input=_literal(table),
                )
            )
        before = run.built_after_close_id or 0
        create("period_closes", "select * from billing.period_closes where close_id <= {before}",
               before=before)  # fmt: skip
        create(
            "issued_invoices",
            "select * from billing.issued_invoices where issued_at <= "
            "(select closed_at from billing.period_closes where close_id = {before})",
            before=before,
        )
        for table in ("issued_invoice_lines", "issued_invoice_events"):
            create(table, f"select * from billing.{table} where invoice_number in "  # noqa: S608
                   "(select invoice_number from {scratch}.issued_invoices)")  # fmt: skip
        create(
            "invoice_voids",
            "select * from billing.invoice_voids order by voided_at, invoice_number limit {voids}",
            voids=run.void_count or 0,
        )
        create(
            "void_resolutions",
            "select * from billing.void_resolutions where resolved_at <= "
            "(select closed_at from billing.period_closes where close_id = {before})",
            before=before,
        )
        create("event_exclusions", "select * from billing.event_exclusions"
               " where exclusion_id <= {last}", last=run.last_exclusion_id or 0)  # fmt: skip

    return prepare


# --- the comparison ----------------------------------------------------------------------------

ISSUED_OF_RUN: Final = (
    "select invoice_number from billing.issued_invoices where period = {period}"
    " and issued_at = {closed_at}"
)
RECOMPUTED_LINES: Final = """
    select drafts.invoice_number, lines.*
    from {scratch}.invoice_draft_lines as lines
    inner join {scratch}.invoice_drafts as drafts
        on lines.tenant_id = drafts.tenant_id
        and coalesce(lines.replaces_invoice_number, '')
        = coalesce(drafts.replaces_invoice_number, '')
"""
RECOMPUTED_EVENTS: Final = """
    select events.event_id, lines.invoice_number, lines.line_number
    from {scratch}.invoice_draft_events as events
    inner join ({lines}) as lines
        on events.tenant_id = lines.tenant_id
        and coalesce(events.replaces_invoice_number, '')
        = coalesce(lines.replaces_invoice_number, '')
        and events.usage_period = lines.usage_period
        and events.rule_id = lines.rule_id
        and lines.line_type <> 'subscription'
"""


def _differing(
    conn: psycopg.Connection[Any],
    issued: sql.Composable,
    recomputed: sql.Composable,
    key: Sequence[str],
    columns: Sequence[str],
) -> list[tuple[Any, ...]]:
    """(key..., issued row as jsonb text, recomputed row as jsonb text) of every row that is
    missing on one side or differs in a column (numbers compared by value)."""
    keys = sql.SQL(", ").join(
        sql.SQL("coalesce(issued.{0}, recomputed.{0})").format(sql.Identifier(name)) for name in key
    )
    joined = sql.SQL(" and ").join(
        sql.SQL("issued.{0} = recomputed.{0}").format(sql.Identifier(name)) for name in key
    )
    issued_row = sql.SQL(", ").join(sql.SQL("issued.{}").format(sql.Identifier(c)) for c in columns)
    recomputed_row = sql.SQL(", ").join(
        sql.SQL("recomputed.{}").format(sql.Identifier(c)) for c in columns
    )
    picked = sql.SQL(", ").join(map(sql.Identifier, (*key, *columns)))
    query = sql.SQL(
        "select {keys}, case when issued.{first} is null then null else"
        " jsonb_build_object({issued_pairs})::text end,"
        " case when recomputed.{first} is null then null else"
        " jsonb_build_object({recomputed_pairs})::text end"
        " from (select {picked} from ({issued}) as issued_rows) as issued"
        " full outer join (select {picked} from ({recomputed}) as recomputed_rows) as recomputed"
        " on {joined}"
        " where issued.{first} is null or recomputed.{first} is null"
        " or row({issued_row}) is distinct from row({recomputed_row})"
        " order by 1, 2"
    ).format(
        keys=keys,
        first=sql.Identifier(key[0]),
        issued_pairs=_pairs("issued", columns),
        recomputed_pairs=_pairs("recomputed", columns),
        picked=picked,
        issued=issued,
        recomputed=recomputed,
        joined=joined,
        issued_row=issued_row,
        recomputed_row=recomputed_row,
    )
    return conn.execute(query).fetchall()


def _pairs(side: str, columns: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("{}, {}.{}").format(sql.Literal(name), sql.Identifier(side), sql.Identifier(name))
        for name in columns
    )


def _describe(where: str, issued: str | None, recomputed: str | None) -> str:
    if issued is None:
        return f"{where}: recomputed, but not issued"
    if recomputed is None:
        return f"{where}: issued, but not recomputed"
    before = json.loads(issued, parse_float=Decimal)
    after = json.loads(recomputed, parse_float=Decimal)
    changed = [
        f"{name} issued {before[name]}, recomputed {after[name]}"
        for name in before
        if before[name] != after[name]
    ]
    return f"{where}: " + "; ".join(changed)


def _compare(conn: psycopg.Connection[Any], build: ScratchBuild, check: RunCheck) -> None:
    scratch = sql.Identifier(build.schema)
    run_invoices = sql.SQL(ISSUED_OF_RUN).format(
        period=sql.Literal(build.period), closed_at=sql.Literal(check.run.closed_at)
    )
    issued_invoices = sql.SQL(
        "select invoice_number, {columns} from billing.issued_invoices"
        " where invoice_number in ({run})"
    ).format(columns=sql.SQL(", ").join(map(sql.Identifier, INVOICE_COLUMNS)), run=run_invoices)
    recomputed_invoices = sql.SQL("select * from {}.invoice_drafts").format(scratch)
    for number, issued, recomputed in _differing(
        conn, issued_invoices, recomputed_invoices, ("invoice_number",), INVOICE_COLUMNS
    ):
        check.differences.append(_describe(str(number), issued, recomputed))

    issued_lines = sql.SQL(
        "select * from billing.issued_invoice_lines where invoice_number in ({})"
    ).format(run_invoices)
    recomputed_lines = sql.SQL(RECOMPUTED_LINES).format(scratch=scratch)
    for number, line, issued, recomputed in _differing(
        conn, issued_lines, recomputed_lines, ("invoice_number", "line_number"), LINE_COLUMNS
    ):
        check.differences.append(_describe(f"{number} line {line}", issued, recomputed))

    issued_events = sql.SQL(
        "select event_id, invoice_number, line_number from billing.issued_invoice_events"
        " where invoice_number in ({})"
    ).format(run_invoices)
    recomputed_events = sql.SQL(RECOMPUTED_EVENTS).format(scratch=scratch, lines=recomputed_lines)
    for label, left, right in (
        ("issued, but not recomputed", issued_events, recomputed_events),
        ("recomputed, but not issued", recomputed_events, issued_events),
    ):
        rows = conn.execute(
            sql.SQL(
                "select invoice_number, line_number, count(*), min(event_id::text) from"
                " (({}) except ({})) as only_here group by 1, 2 order by 1, 2"
            ).format(left, right)
        ).fetchall()
        for number, line, count, example in rows:
            check.differences.append(
                f"{number} line {line}: {count} event(s) {label} (e.g. {example})"
            )

    counts = conn.execute(
        sql.SQL(
            "select (select count(*) from ({run}) as invoices),"
            " (select count(*) from ({lines}) as lines),"
            " (select count(*) from ({events}) as events)"
        ).format(run=run_invoices, lines=issued_lines, events=issued_events)
    ).fetchone()
    assert counts is not None
    check.invoices, check.lines, check.events = (int(value) for value in counts)


def verify(settings: Settings, owner_url: str, period: Period) -> VerifyReport:
    """Recompute every issue run of `period` from its recorded inputs (module docstring)."""
    url, role = db.role_url(settings, owner_url, Role.TRANSFORMER)
    checks = []
    with db.connect(url, role=role, autocommit=True) as conn:
        runs = _runs(conn, period)
        if not runs:
            raise VerifyRefusedError(
                f"{period} is not closed: only an issued month can be verified (billing preview "
                "shows an open month's drafts)"
            )
        for run in runs:
            inputs = _inputs(conn, run)
            missing = sorted((set(SEED_COLUMNS) | set(REFERENCE_INPUTS)) - set(inputs))
            if run.through_stream_sequence is None or missing:
                raise VerifyRefusedError(
                    f"the {run.kind} of {period} (close {run.close_id}, {run.closed_at:%Y-%m-%d})"
                    " was issued before closes recorded their inputs (migration 0026), so it "
                    "cannot be recomputed; months closed since can be verified"
                )
            check = RunCheck(run)
            with scratch_build(
                url,
                role,
                purpose="verify",
                period=period.label,
                seeds=_seeds(inputs),
                prepare=_state_of(run),
                variables={name: "{schema}" for name in
                           ("raw_schema", "ref_schema", "issued_schema", "finance_schema")},
            ) as build:  # fmt: skip
                build.dbt(BUILD)
                _compare(conn, build, check)
            checks.append(check)
    return VerifyReport(period.label, checks)
