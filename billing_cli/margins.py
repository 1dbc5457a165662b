"""`billing margins --month YYYY-MM [--by operator|direction|tier|tenant]`: margins at a glance.

Revenue (usage and subscriptions), operator cost, margin and margin % per operator, direction,
tier or tenant, negative margins first; --chart writes a PNG or a self-contained HTML report
(docs/finance-tools.md). Read as Finance; needs only PostgreSQL.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from billing import db
from billing.money import currency_places, format_places, stored_places
from billing.roles import Role
from billing_cli.app import app, console
from billing_cli.options import Month, database_url, settings
from billing_cli.output import FormatOption, OutputFormat, print_records, table
from finance.charts import Bar, Panel, bar_chart_png, html_report, write_report
from finance.margins import Dimension, MarginReport, MarginRow, margin_report

COLUMNS = (
    "key",
    "currency",
    "usage_revenue",
    "subscription_revenue",
    "revenue",
    "cost",
    "margin",
    "margin_pct",
    "events",
)
HEADER = ("", "currency", "revenue", "cost", "margin", "margin %", "events")


def _percent(ratio: Decimal | None) -> str:
    """A display figure: the exact ratio as a percentage with one decimal."""
    if ratio is None:
        return "—"
    return f"{(ratio * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def _places(rows: tuple[MarginRow, ...]) -> int:
    """One number of places for every amount of the table, so the columns align: the most
    any exact sum has (never rounded), at least the currencies' minor units."""
    return max(
        max(currency_places(row.currency), *(stored_places(value) for value in
            (row.revenue, row.cost, row.margin)))
        for row in rows
    )  # fmt: skip


def _cells(row: MarginRow, places: int) -> tuple[str, ...]:
    return (
        row.label,
        row.currency,
        format_places(row.revenue, places),
        format_places(row.cost, places),
        format_places(row.margin, places),
        _percent(row.margin_ratio),
        f"{row.events:,}",
    )


def _record(row: MarginRow) -> dict[str, Any]:
    """Exact decimal strings, as every CSV and JSON of the CLI."""
    return {
        "key": row.key,
        "currency": row.currency,
        "usage_revenue": str(row.usage_revenue),
        "subscription_revenue": str(row.subscription_revenue),
        "revenue": str(row.revenue),
        "cost": str(row.cost),
        "margin": str(row.margin),
        "margin_pct": None if row.margin_ratio is None else str(row.margin_ratio * 100),
        "events": row.events,
    }


def _title(report: MarginReport) -> str:
    source = "issued invoices" if report.closed else "drafts (open month)"
    return f"Margins of {report.period} by {report.dimension} (subscriptions: {source})"


def _print(report: MarginReport) -> None:
    rows = table(_title(report))
    for number, column in enumerate(HEADER):
        rows.add_column(column, justify="left" if number < 2 else "right", no_wrap=number > 0)
    places = _places(report.rows)
    for row in report.rows:
        style = "red" if row.margin < 0 else None
        rows.add_row(*_cells(row, places), style=style)
    for total in report.totals().values():
        rows.add_row(*_cells(total, places), style="bold")
    console.print(rows)


def _chart(report: MarginReport, path: Path) -> None:
    panels = [
        Panel(
            f"{_title(report)}, {currency}" if number == 0 else currency,
            [Bar(row.label, row.margin) for row in report.rows if row.currency == currency],
            f"margin ({currency})",
        )
        for number, currency in enumerate(sorted({row.currency for row in report.rows}))
    ]
    png = bar_chart_png(panels)
    places = _places(report.rows)
    cells = [_cells(row, places) for row in (*report.rows, *report.totals().values())]
    write_report(path, png, html_report(_title(report), HEADER, cells, [png]))
    console.print(f"wrote {path}")


@app.command()
def margins(
    month: Month,
    by: Annotated[
        Dimension, typer.Option("--by", case_sensitive=False, help="What a row is.")
    ] = Dimension.OPERATOR,
    output: FormatOption = OutputFormat.TABLE,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            help="Also write the margins as a chart: FILE.png, or FILE.html (the chart and "
            "the table in one self-contained page).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """A month's revenue (usage and subscriptions), operator cost, margin and margin % by
    operator, direction, tier or tenant, negative margins first, with totals per currency.
    The usage figures are billing.margins'; subscriptions come from the month's invoices."""
    if chart is not None and chart.suffix.lower() not in (".png", ".html"):
        raise typer.BadParameter(f"{chart}: the chart is written as .png or .html")
    current = settings()
    url, role = db.role_url(current, database_url(current), Role.FINANCE)
    with db.connect(url, role=role) as conn:
        report = margin_report(conn, month, by)
    if not report.rows:
        console.print(f"no priced events or invoices of {month}")
        return
    if output is OutputFormat.TABLE:
        _print(report)
    else:
        print_records([_record(row) for row in report.rows], COLUMNS, output)
    if chart is not None:
        _chart(report, chart)
