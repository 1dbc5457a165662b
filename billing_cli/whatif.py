"""`billing whatif --month YYYY-MM [--pricing-rules F] [--operator-costs F] [--tier-fees F]`:
a month's actual traffic re-priced with proposed catalogues (finance.whatif), beside today's.

Prints the tenants whose revenue or cost changes and the totals per currency, and writes the
report to --out (default ./whatif-YYYY-MM/): tenants.csv, lines.csv, groups.csv and
report.html (charts of the revenue and margin deltas per tier and per operator, and the
tables), the files Finance attaches to the catalogue pull request (docs/finance-tools.md).
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from billing.money import format_places, stored_places
from billing_cli.app import app, console
from billing_cli.options import Month, database_url, settings
from billing_cli.output import FormatOption, OutputFormat, print_records, table, tenant_label
from finance.charts import Bar, Panel, bar_chart_png
from finance.whatif import (
    Catalogue,
    Delta,
    Proposal,
    WhatIfReport,
    delta_record,
    line_record,
    read_proposal,
    what_if,
)

SHOWN: int = 20  # rows per table on screen; every row is in the CSV files
DELTA_COLUMNS = (
    "key",
    "currency",
    "current_revenue",
    "proposed_revenue",
    "revenue_delta",
    "current_cost",
    "proposed_cost",
    "cost_delta",
    "current_margin",
    "proposed_margin",
    "margin_delta",
)
LINE_COLUMNS = (
    "tenant_id", "line_type", "usage_period", "operator_id", "direction", "account_tier",
    "rule_or_fee_id", "currency", "description", "current_quantity", "current_unit_price",
    "current_amount", "proposed_quantity", "proposed_unit_price", "proposed_amount",
    "amount_delta",
)  # fmt: skip
HEADER = ("", "cur", "revenue now", "Δ revenue", "Δ cost", "Δ margin")


def _places(rows: Sequence[Delta]) -> int:
    values = [value for row in rows for value in (row.current.revenue, row.revenue_delta,
              row.cost_delta, row.margin_delta)]  # fmt: skip
    return max((stored_places(value) for value in values), default=2)


def _signed(value: Any, places: int) -> str:
    text = format_places(value, places)
    return text if text.startswith("-") or value == 0 else f"+{text}"


def _cells(row: Delta, label: str, places: int) -> tuple[str, ...]:
    return (
        label,
        row.currency,
        format_places(row.current.revenue, places),
        _signed(row.revenue_delta, places),
        _signed(row.cost_delta, places),
        _signed(row.margin_delta, places),
    )


def _delta_record(row: Delta, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    record = delta_record(row)
    if names is not None:
        record["name"] = names.get(row.key, "")
    return record


def _title(report: WhatIfReport) -> str:
    return f"What-if {report.period}: {', '.join(Path(name).name for name in report.proposed)}"


def _print(report: WhatIfReport) -> None:
    changed = [row for row in report.tenants if row.changed]
    places = _places([*report.tenants, *report.totals])
    rows = table(f"{_title(report)} (tenants whose invoice or cost changes)")
    for number, column in enumerate(HEADER):
        rows.add_column(column, justify="left" if number < 2 else "right", no_wrap=number > 0)
    for row in changed[:SHOWN]:
        name = tenant_label(report.tenant_names.get(row.key), row.key)
        rows.add_row(*_cells(row, name, places), style="red" if row.margin_delta < 0 else None)
    for total in report.totals:
        rows.add_row(*_cells(total, "total", places), style="bold")
    console.print(rows)
    if len(changed) > SHOWN:
        console.print(f"... and {len(changed) - SHOWN} more tenants (tenants.csv)")
    console.print(
        f"{len(changed)} of {len(report.tenants)} tenants change; {len(report.lines)} invoice "
        "lines differ (lines.csv)"
    )
    if report.known_gaps:
        console.print(
            f"note: with today's catalogues the month already has {report.known_gaps} coverage "
            "gap(s) (billing.catalogue_coverage); the proposal opens none"
        )


def _panels(rows: Sequence[Delta], what: str, measure: str) -> list[Panel]:
    """A panel per currency with a bar per tier or operator whose figure changes."""
    panels = []
    for currency in sorted({row.currency for row in rows}):
        bars = [
            Bar(row.key or "(none)", getattr(row, f"{measure}_delta"))
            for row in rows
            if row.currency == currency and getattr(row, f"{measure}_delta") != 0
        ]
        if bars:
            panels.append(Panel(f"{measure} delta per {what}, {currency}", bars,
                                f"{measure} delta ({currency})"))  # fmt: skip
    return panels


def _html(report: WhatIfReport, charts: Sequence[bytes]) -> str:
    from finance.charts import html_report  # the same page style as billing margins

    places = _places([*report.tenants, *report.totals])
    cells = [
        _cells(row, tenant_label(report.tenant_names.get(row.key), row.key), places)
        for row in report.tenants
        if row.changed
    ] + [_cells(row, "total", places) for row in report.totals]
    page = html_report(_title(report), HEADER, cells, charts)
    lines = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(record[name] or ''))}</td>"
                         for name in ("tenant_id", "description", "current_amount",
                                      "proposed_amount", "amount_delta")) + "</tr>"
        for record in map(line_record, report.lines)
    )  # fmt: skip
    changed_lines = (
        "<h2>Invoice lines that change</h2><table><thead><tr><th>tenant</th><th>line</th>"
        "<th>now</th><th>proposed</th><th>Δ</th></tr></thead><tbody>"
        f"{lines}</tbody></table>"
    )
    return page.replace("</body></html>", f"{changed_lines}</body></html>")


def _write_csv(path: Path, columns: Sequence[str], records: Sequence[Mapping[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as sink:
        writer = csv.DictWriter(sink, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({name: record.get(name) for name in columns})


def _write(report: WhatIfReport, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    tenant_columns = ("key", "name", *DELTA_COLUMNS[1:])
    tenants = [_delta_record(row, report.tenant_names) for row in report.tenants]
    _write_csv(folder / "tenants.csv", tenant_columns, tenants)
    _write_csv(folder / "lines.csv", LINE_COLUMNS, [line_record(c) for c in report.lines])
    groups = [
        {"group": group, **_delta_record(row)}
        for group, rows in (("tier", report.by_tier), ("operator", report.by_operator),
                            ("total", report.totals))
        for row in rows
    ]  # fmt: skip
    _write_csv(folder / "groups.csv", ("group", *DELTA_COLUMNS), groups)
    panels = [
        _panels(rows, what, measure)
        for rows, what in ((report.by_tier, "tier"), (report.by_operator, "operator"))
        for measure in ("revenue", "margin")
    ]
    charts = [bar_chart_png(chart) for chart in panels if chart]
    (folder / "report.html").write_text(_html(report, charts), encoding="utf-8")
    return ["tenants.csv", "lines.csv", "groups.csv", "report.html"]


def _proposals(files: Mapping[Catalogue, Path | None]) -> list[Proposal]:
    return [read_proposal(catalogue, path) for catalogue, path in files.items() if path]


@app.command()
def whatif(
    month: Month,
    pricing_rules: Annotated[
        Path | None,
        typer.Option("--pricing-rules", dir_okay=False, help="Proposed pricing_rules.csv."),
    ] = None,
    operator_costs: Annotated[
        Path | None,
        typer.Option("--operator-costs", dir_okay=False, help="Proposed operator_costs.csv."),
    ] = None,
    tier_fees: Annotated[
        Path | None,
        typer.Option("--tier-fees", dir_okay=False, help="Proposed tier_fees.csv."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", file_okay=False, help="Folder of the report (default ./whatif-YYYY-MM)."
        ),
    ] = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Re-price a month's actual traffic with proposed catalogues, beside today's: revenue,
    cost and margin per tenant and in total, and every invoice line that changes. Nothing is
    written but the report: the close's own models run in scratch schemas, dropped after."""
    proposals = _proposals(
        {
            Catalogue.PRICING_RULES: pricing_rules,
            Catalogue.OPERATOR_COSTS: operator_costs,
            Catalogue.TIER_FEES: tier_fees,
        }
    )
    current = settings()
    report = what_if(current, database_url(current), month, proposals)
    folder = out or Path(f"whatif-{month.label}")
    written = _write(report, folder)
    if output is OutputFormat.TABLE:
        _print(report)
        console.print(f"wrote {folder}/: {', '.join(written)}")
    elif output is OutputFormat.JSON:
        console.out(json.dumps(report.as_json(), indent=2), highlight=False)
    else:
        tenants = [_delta_record(row, report.tenant_names) for row in report.tenants]
        print_records(tenants, ("key", "name", *DELTA_COLUMNS[1:]), output)
