"""What-if re-pricing (issue 21, docs/finance-tools.md): a month's actual traffic priced and
invoiced with proposed catalogues, beside the same traffic with today's, by the close's own dbt
models in scratch schemas (warehouse.scratch). Nothing of raw, ref, catalogue, staging,
intermediate or billing is written; both scratch schemas are dropped afterwards.

1. The month must have events (raw.message_charged); each proposed CSV is read like any file
   people edit: header, types and ids checked, every problem with its line and column.
2. The proposed build: today's catalogues (as the database holds them, what the next close
   uses) with the proposed files in their place, seeded into a scratch schema, then the
   catalogues' own dbt tests (unique ids, no overlapping validity, prices >= 0, decimals,
   operators and currencies known): a failing test refuses the proposal, naming its rows.
3. Both builds: the month's drafts (invoice_draft_lines), margins (costs) and coverage, as if
   the month had never been closed. A coverage gap the proposal opens (traffic without a rule,
   a cost or a fee) refuses it, naming the gap.
4. The comparison, per tenant and in total per currency: revenue (what the invoice would
   total), operator cost, margin, and every line whose quantity, price or amount differs.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from billing import db
from billing.errors import RefusedError
from billing.periods import Period
from billing.roles import Role
from billing.settings import Settings
from finance.csv_rows import CsvTable, Problem, RowChecker, read_rows, refusal
from warehouse.scratch import ScratchBuild, empty_issued_tables, scratch_build
from warehouse.transform import DbtFailedError

NOTHING_PRICED: Final = "nothing re-priced"
# What the builds need: the drafts' lines, the costs, the coverage (and all they read).
BUILD_SELECTION: Final = ("+invoice_draft_lines", "+margins", "+catalogue_coverage")
# Coverage gaps a catalogue can open or close; the others (no account, no tier) are reference
# data, the same in both builds.
CATALOGUE_GAPS: Final = ("no_rule", "no_cost", "no_fee")
SUBSCRIPTIONS: Final = "(subscriptions)"
WITHOUT_TESTS: Final = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
WITHOUT_SEEDS: Final = ("--exclude-resource-type", "seed")  # seeded and tested before
# The catalogues' own tests: those on the seeds alone (cautious: not the models' tests that
# also read a seed, whose models a scratch schema does not have yet).
SEED_TESTS: Final = ("test", "--select", "resource_type:seed", "--indirect-selection", "cautious")


class WhatIfRefusedError(RefusedError):
    """The what-if was refused: the month or a proposed catalogue; nothing was re-priced."""


class Catalogue(StrEnum):
    """The catalogues Finance can propose (dbt_project/seeds)."""

    PRICING_RULES = "pricing_rules"
    OPERATOR_COSTS = "operator_costs"
    TIER_FEES = "tier_fees"


def _parse_pricing_rule(row: RowChecker) -> tuple[Any, ...] | None:
    values = (
        row.text("rule_id", max_length=64),
        row.text("account_tier", max_length=64),
        row.text("operator_id", max_length=64),
        row.text("direction", max_length=16),
        row.text("currency", max_length=3),
        row.decimal("unit_price"),
        row.day("effective_from"),
        row.day("effective_to", optional=True),
    )
    return values if row.ok else None


def _parse_operator_cost(row: RowChecker) -> tuple[Any, ...] | None:
    values = (
        row.text("cost_id", max_length=64),
        row.text("operator_id", max_length=64),
        row.text("direction", max_length=16),
        row.text("currency", max_length=3),
        row.decimal("unit_cost"),
        row.day("effective_from"),
        row.day("effective_to", optional=True),
    )
    return values if row.ok else None


def _parse_tier_fee(row: RowChecker) -> tuple[Any, ...] | None:
    values = (
        row.text("fee_id", max_length=64),
        row.text("account_tier", max_length=64),
        row.text("currency", max_length=3),
        row.decimal("monthly_fee"),
        row.day("effective_from"),
        row.day("effective_to", optional=True),
    )
    return values if row.ok else None


TABLES: Final[Mapping[Catalogue, CsvTable]] = {
    Catalogue.PRICING_RULES: CsvTable(
        "pricing_rules",
        ("rule_id", "account_tier", "operator_id", "direction", "currency", "unit_price",
         "effective_from", "effective_to"),
        ("rule_id",),
        _parse_pricing_rule,
    ),
    Catalogue.OPERATOR_COSTS: CsvTable(
        "operator_costs",
        ("cost_id", "operator_id", "direction", "currency", "unit_cost", "effective_from",
         "effective_to"),
        ("cost_id",),
        _parse_operator_cost,
    ),
    Catalogue.TIER_FEES: CsvTable(
        "tier_fees",
        ("fee_id", "account_tier", "currency", "monthly_fee", "effective_from", "effective_to"),
        ("fee_id",),
        _parse_tier_fee,
    ),
}  # fmt: skip
# Seeds that are copied as the database holds them (never proposed here).
OTHER_SEEDS: Final = {
    "operators": ("operator_id", "display_name", "country"),
    "iso_4217_currencies": ("currency", "currency_name", "minor_units"),
}


@dataclass(frozen=True)
class Proposal:
    """One proposed catalogue file, read and checked."""

    catalogue: Catalogue
    path: Path
    content: bytes
    lines_by_id: Mapping[str, int]
    # Each (column, value) of the file, with the lines it is on (to name the rows a test on a
    # column fails when its failures carry no id: relationships, accepted values).
    lines_by_value: Mapping[tuple[str, str], tuple[int, ...]]


def read_proposal(catalogue: Catalogue, path: Path) -> Proposal:
    """Read a proposed catalogue CSV; a problem refuses it with every line and column."""
    table = TABLES[catalogue]
    rows, problems, _ = read_rows(path, table, refused=WhatIfRefusedError, outcome=NOTHING_PRICED)
    if problems:
        raise refusal(path, problems, refused=WhatIfRefusedError, outcome=NOTHING_PRICED)
    if not rows:
        raise WhatIfRefusedError(
            f"{path}: no rows; a proposed {catalogue} needs every row in force, not only the "
            f"changed ones; {NOTHING_PRICED}"
        )
    values: dict[tuple[str, str], list[int]] = defaultdict(list)
    for line, row in rows:
        for column, value in zip(table.columns, row, strict=True):
            if value is not None:
                values[(column, _text(value))].append(line)
    return Proposal(
        catalogue,
        path,
        csv_bytes(table.columns, (row for _, row in rows)),
        {str(row[0]): line for line, row in rows},
        {value: tuple(lines) for value, lines in values.items()},
    )


def _text(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if value is None else _text(value) for value in row])
    return buffer.getvalue().encode()


def current_seeds(conn: psycopg.Connection[Any]) -> dict[str, bytes]:
    """Every catalogue as the database holds it (what the next close uses), as seed CSVs."""
    columns_of = {table.name: table.columns for table in TABLES.values()} | OTHER_SEEDS
    seeds = {}
    for name, columns in columns_of.items():
        rows = conn.execute(
            sql.SQL("select {} from catalogue.{} order by 1").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(name)
            )
        ).fetchall()
        seeds[name] = csv_bytes(columns, rows)
    return seeds


# --- what the two builds give ------------------------------------------------------------------


@dataclass(frozen=True)
class LineKey:
    tenant_id: str
    line_type: str
    usage_period: str
    operator_id: str | None
    direction: str | None
    account_tier: str | None
    catalogue_id: str  # the rule or fee


@dataclass(frozen=True)
class DraftLine:
    key: LineKey
    currency: str
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class CostRow:
    tenant_id: str
    operator_id: str
    account_tier: str
    currency: str
    cost: Decimal


@dataclass(frozen=True)
class Build:
    """One build's month: its draft lines, costs and catalogue gaps."""

    lines: tuple[DraftLine, ...]
    costs: tuple[CostRow, ...]
    gaps: frozenset[tuple[Any, ...]]


def _read_build(conn: psycopg.Connection[Any], build: ScratchBuild) -> Build:
    with conn.cursor(row_factory=dict_row) as cursor:
        lines = cursor.execute(
            sql.SQL(
                "select tenant_id::text as tenant_id, line_type, usage_period, operator_id,"
                " direction, account_tier, coalesce(rule_id, fee_id) as catalogue_id, currency,"
                " description, quantity, unit_price, amount from {} where period = %s"
                " order by tenant_id, line_number"
            ).format(build.relation("invoice_draft_lines")),
            (build.period,),
        ).fetchall()
        costs = cursor.execute(
            sql.SQL(
                "select tenant_id::text as tenant_id, operator_id, account_tier, currency,"
                " sum(cost) as cost from {} where period = %s"
                " group by tenant_id, operator_id, account_tier, currency"
            ).format(build.relation("margins")),
            (build.period,),
        ).fetchall()
        gaps = cursor.execute(
            sql.SQL(
                "select gap, account_tier, operator_id, direction, currency, first_day,"
                " last_day, tenant_count, event_count, day_count from {}"
                " where period = %s and gap = any(%s)"
            ).format(build.relation("catalogue_coverage")),
            (build.period, list(CATALOGUE_GAPS)),
        ).fetchall()
    return Build(
        tuple(
            DraftLine(
                LineKey(
                    row["tenant_id"], row["line_type"], row["usage_period"], row["operator_id"],
                    row["direction"], row["account_tier"], row["catalogue_id"],
                ),
                row["currency"], row["description"], int(row["quantity"]),
                Decimal(row["unit_price"]), Decimal(row["amount"]),
            )
            for row in lines
        ),
        tuple(
            CostRow(row["tenant_id"], row["operator_id"], row["account_tier"], row["currency"],
                    Decimal(row["cost"]))
            for row in costs
        ),
        frozenset(tuple(row.values()) for row in gaps),
    )  # fmt: skip


# --- the comparison ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    revenue: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.revenue + other.revenue, self.cost + other.cost)


@dataclass(frozen=True)
class Delta:
    """Current and proposed figures of one tenant, tier, operator or total (one currency)."""

    key: str
    currency: str
    current: Figures
    proposed: Figures

    @property
    def revenue_delta(self) -> Decimal:
        return self.proposed.revenue - self.current.revenue

    @property
    def cost_delta(self) -> Decimal:
        return self.proposed.cost - self.current.cost

    @property
    def margin_delta(self) -> Decimal:
        return self.proposed.margin - self.current.margin

    @property
    def changed(self) -> bool:
        return self.revenue_delta != 0 or self.cost_delta != 0


@dataclass(frozen=True)
class LineChange:
    """A draft line whose quantity, unit price or amount differs (None: no such line)."""

    key: LineKey
    currency: str
    description: str
    current: DraftLine | None
    proposed: DraftLine | None

    @property
    def amount_delta(self) -> Decimal:
        before = self.current.amount if self.current else Decimal(0)
        after = self.proposed.amount if self.proposed else Decimal(0)
        return after - before


@dataclass
class WhatIfReport:
    period: str
    proposed: tuple[str, ...]
    tenant_names: Mapping[str, str]
    tenants: list[Delta] = field(default_factory=list)
    totals: list[Delta] = field(default_factory=list)
    by_tier: list[Delta] = field(default_factory=list)
    by_operator: list[Delta] = field(default_factory=list)
    lines: list[LineChange] = field(default_factory=list)
    known_gaps: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "proposed": list(self.proposed),
            "tenants": [delta_record(row) for row in self.tenants],
            "totals": [delta_record(row) for row in self.totals],
            "by_tier": [delta_record(row) for row in self.by_tier],
            "by_operator": [delta_record(row) for row in self.by_operator],
            "lines": [line_record(change) for change in self.lines],
        }


def delta_record(row: Delta) -> dict[str, Any]:
    """A tenant's, group's or total's figures with exact decimal strings (CSV and JSON)."""
    return {
        "key": row.key,
        "currency": row.currency,
        "current_revenue": str(row.current.revenue),
        "proposed_revenue": str(row.proposed.revenue),
        "revenue_delta": str(row.revenue_delta),
        "current_cost": str(row.current.cost),
        "proposed_cost": str(row.proposed.cost),
        "cost_delta": str(row.cost_delta),
        "current_margin": str(row.current.margin),
        "proposed_margin": str(row.proposed.margin),
        "margin_delta": str(row.margin_delta),
    }


def line_record(change: LineChange) -> dict[str, Any]:
    """A changed line with exact decimal strings (CSV and JSON)."""
    key = change.key

    def side(line: DraftLine | None, name: str) -> dict[str, Any]:
        return {
            f"{name}_quantity": None if line is None else line.quantity,
            f"{name}_unit_price": None if line is None else str(line.unit_price),
            f"{name}_amount": None if line is None else str(line.amount),
        }

    return {
        "tenant_id": key.tenant_id,
        "line_type": key.line_type,
        "usage_period": key.usage_period,
        "operator_id": key.operator_id,
        "direction": key.direction,
        "account_tier": key.account_tier,
        "rule_or_fee_id": key.catalogue_id,
        "currency": change.currency,
        "description": change.description,
        **side(change.current, "current"),
        **side(change.proposed, "proposed"),
        "amount_delta": str(change.amount_delta),
    }


def _grouped(
    current: Mapping[tuple[str, str], Figures], proposed: Mapping[tuple[str, str], Figures]
) -> list[Delta]:
    keys = sorted(set(current) | set(proposed), key=lambda item: (item[1], item[0]))
    return [
        Delta(key, currency, current.get((key, currency), Figures()),
              proposed.get((key, currency), Figures()))
        for key, currency in keys
    ]  # fmt: skip


def _figures_by(build: Build, dimension: str) -> dict[tuple[str, str], Figures]:
    """Revenue (the lines' amounts) and cost by tenant, tier, operator or in total."""
    figures: dict[tuple[str, str], Figures] = defaultdict(Figures)

    def key_of(tenant: str, tier: str | None, operator: str | None) -> str:
        return {
            "tenant": tenant,
            "tier": tier or "",
            "operator": operator or SUBSCRIPTIONS,
            "total": "total",
        }[dimension]

    for line in build.lines:
        key = (key_of(line.key.tenant_id, line.key.account_tier, line.key.operator_id),
               line.currency)  # fmt: skip
        figures[key] += Figures(revenue=line.amount)
    for cost in build.costs:
        key = (key_of(cost.tenant_id, cost.account_tier, cost.operator_id), cost.currency)
        figures[key] += Figures(cost=cost.cost)
    return figures


def _figures_of(line: DraftLine) -> tuple[int, Decimal, Decimal]:
    return line.quantity, line.unit_price, line.amount


def _line_changes(current: Build, proposed: Build) -> list[LineChange]:
    before = {line.key: line for line in current.lines}
    after = {line.key: line for line in proposed.lines}
    changes = []
    for key in sorted(
        set(before) | set(after), key=lambda item: tuple(map(str, vars(item).values()))
    ):
        old, new = before.get(key), after.get(key)
        same = old is not None and new is not None and _figures_of(old) == _figures_of(new)
        if not same:
            shown = new or old
            assert shown is not None
            changes.append(LineChange(key, shown.currency, shown.description, old, new))
    return changes


def compare(
    period: str, proposed: Sequence[str], names: Mapping[str, str], current: Build, new: Build
) -> WhatIfReport:
    """The report of two builds of the same month (today's catalogues, the proposed ones)."""
    report = WhatIfReport(period, tuple(proposed), names)
    report.tenants = sorted(
        _grouped(_figures_by(current, "tenant"), _figures_by(new, "tenant")),
        key=lambda row: (not row.changed, -abs(row.margin_delta), row.currency, row.key),
    )
    report.totals = _grouped(_figures_by(current, "total"), _figures_by(new, "total"))
    report.by_tier = _grouped(_figures_by(current, "tier"), _figures_by(new, "tier"))
    report.by_operator = _grouped(_figures_by(current, "operator"), _figures_by(new, "operator"))
    report.lines = _line_changes(current, new)
    report.known_gaps = len(current.gaps)
    return report


# --- refusals from the proposed build ----------------------------------------------------------


def _test_label(node: Mapping[str, Any]) -> str:
    metadata = node.get("test_metadata") or {}
    name = str(metadata.get("name") or node.get("name", "test"))
    arguments = metadata.get("kwargs") or {}
    detail = arguments.get("column_name") or ""
    if "expression" in arguments:
        detail = str(arguments["expression"])
    elif "key_columns" in arguments:
        detail = "key " + ", ".join(arguments["key_columns"])
    return f"{name} ({detail})" if detail else name


def _failed_tests(build: ScratchBuild) -> list[tuple[Mapping[str, Any], str | None]]:
    """(manifest node, stored failures relation) of each catalogue test that did not pass."""
    target = build.project_dir / "target"
    results = json.loads((target / "run_results.json").read_text())["results"]
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    return [
        (nodes[result["unique_id"]], result.get("relation_name"))
        for result in results
        if result["status"] in ("fail", "error")
    ]


def _seed_of(node: Mapping[str, Any]) -> str:
    attached = str(node.get("attached_node") or "")
    return attached.rsplit(".", 1)[-1]


def _failed_lines(
    conn: psycopg.Connection[Any], node: Mapping[str, Any], relation: str, proposal: Proposal
) -> set[int]:
    """The proposed file's lines a failed test's stored rows name: by id when they carry one
    (overlaps, decimals, expressions, nulls), else by the tested column's value."""
    query = sql.SQL("select * from {} limit 100").format(
        sql.Identifier(*(part.strip('"') for part in relation.split(".")))
    )
    rows = conn.execute(query).fetchall()
    column = str((node.get("test_metadata") or {}).get("kwargs", {}).get("column_name") or "")
    lines: set[int] = set()
    for row in rows:
        ids = {proposal.lines_by_id[_text(value)] for value in row
               if _text(value) in proposal.lines_by_id}  # fmt: skip
        if ids:
            lines |= ids
        elif column:
            for value in row:
                lines.update(proposal.lines_by_value.get((column, _text(value)), ()))
    return lines


def _refuse_failed_tests(
    conn: psycopg.Connection[Any], build: ScratchBuild, proposals: Mapping[str, Proposal]
) -> None:
    failures = _failed_tests(build)
    problems = []
    for node, relation in failures:
        seed = _seed_of(node)
        proposal = proposals.get(seed)
        lines = _failed_lines(conn, node, relation, proposal) if relation and proposal else set()
        where = proposal.path.name if proposal else f"today's {seed}"
        named = "lines " + ", ".join(map(str, sorted(lines))) if lines else "no row named"
        problems.append(f"  {where}: catalogue test {_test_label(node)} fails ({named})")
    if problems:
        raise WhatIfRefusedError(
            f"the proposed catalogues fail {len(problems)} catalogue test(s), {NOTHING_PRICED}; "
            "fix the rows and try again:\n" + "\n".join(problems)
        )


def _gap_text(gap: tuple[Any, ...]) -> str:
    reason, tier, operator, direction, currency, first, last, tenants, events, days = gap
    what = " ".join(str(part) for part in (tier, operator, direction, currency) if part)
    count = f"{events:,} events" if events else f"{days:,} active days"
    return f"{reason} for {what} from {first} to {last} ({count} of {tenants} tenant(s))"


def _refuse_new_gaps(current: Build, proposed: Build) -> None:
    opened = sorted(proposed.gaps - current.gaps, key=str)
    if opened:
        shown = "\n".join(f"  {_gap_text(gap)}" for gap in opened[:20])
        raise WhatIfRefusedError(
            f"the proposed catalogues leave {len(opened)} part(s) of the month's traffic "
            f"without a price, cost or fee, {NOTHING_PRICED}; add the rows:\n{shown}"
        )


# --- the run -----------------------------------------------------------------------------------


def _month_has_events(conn: psycopg.Connection[Any], period: Period) -> bool:
    row = conn.execute(
        "select exists (select 1 from raw.message_charged"
        " where occurred_at >= %s and occurred_at < %s)",
        (period.start_instant, period.end_instant),
    ).fetchone()
    return bool(row and row[0])


def _tenant_names(conn: psycopg.Connection[Any]) -> dict[str, str]:
    rows = conn.execute("select tenant_id::text, name from ref.accounts").fetchall()
    return {str(tenant): str(name) for tenant, name in rows}


def _scratch(period: str) -> dict[str, Any]:
    """A what-if build: the month's events only, against empty issued tables."""
    return {
        "purpose": "whatif",
        "period": period,
        "prepare": empty_issued_tables,
        "variables": {"issued_schema": "{schema}", "events_of_period_only": True},
    }


def what_if(
    settings: Settings, owner_url: str, period: Period, proposals: Sequence[Proposal]
) -> WhatIfReport:
    """Re-price `period` with the proposed catalogues beside today's (module docstring)."""
    if not proposals:
        raise WhatIfRefusedError(
            "nothing proposed: give --pricing-rules, --operator-costs or --tier-fees"
        )
    url, role = db.role_url(settings, owner_url, Role.TRANSFORMER)
    with db.connect(url, role=role, autocommit=True) as conn:
        if not _month_has_events(conn, period):
            raise WhatIfRefusedError(
                f"no events of {period} are loaded: a what-if re-prices a month's actual "
                "traffic; choose a month with events (or load them first)"
            )
        today = current_seeds(conn)
        names = _tenant_names(conn)
        by_seed = {proposal.catalogue.value: proposal for proposal in proposals}
        proposed_seeds = today | {name: proposal.content for name, proposal in by_seed.items()}
        label = period.label
        with scratch_build(url, role, seeds=proposed_seeds, **_scratch(label)) as new:
            new.dbt(["seed"])
            tested = new.dbt([*SEED_TESTS, "--store-failures"], check=False)
            if not tested.ok:
                _refuse_failed_tests(conn, new, by_seed)
                raise DbtFailedError(f"dbt test of the proposed catalogues failed:\n{tested.tail}")
            new.dbt(["build", "--select", *BUILD_SELECTION, *WITHOUT_TESTS, *WITHOUT_SEEDS])
            proposed_build = _read_build(conn, new)
        with scratch_build(url, role, seeds=today, **_scratch(label)) as old:
            old.dbt(["build", "--select", *BUILD_SELECTION, *WITHOUT_TESTS])
            current_build = _read_build(conn, old)
    _refuse_new_gaps(current_build, proposed_build)
    return compare(label, [str(p.path) for p in proposals], names, current_build, proposed_build)


__all__ = [
    "Catalogue",
    "Delta",
    "Figures",
    "LineChange",
    "Problem",
    "Proposal",
    "WhatIfRefusedError",
    "WhatIfReport",
    "delta_record",
    "line_record",
    "read_proposal",
    "what_if",
]
