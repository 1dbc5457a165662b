"""How lists read on a terminal of 80 columns and in a pipe: tables, CSV and JSON.

Tables never cut an identifier (invoice numbers, rule ids, short tenant ids do not wrap; the
free-text column wraps at spaces instead); CSV and JSON carry every column, with amounts as
exact decimal strings (billing.money), for scripts.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import typer
from rich import box
from rich.measure import Measurement
from rich.table import Table

from billing_cli.app import console


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="table (for people), csv or json (for scripts: every column, exact amounts).",
    ),
]


def short_id(tenant_id: UUID | str) -> str:
    """The first 8 hex digits of a tenant id: enough to tell tenants apart on screen."""
    return str(tenant_id)[:8]


def tenant_label(name: str | None, tenant_id: UUID | str) -> str:
    """'Northwind Logistics (0b7c6f5e)'; the short id alone when the account is unknown."""
    return f"{name} ({short_id(tenant_id)})" if name else short_id(tenant_id)


def table(title: str | None = None) -> Table:
    """A table without vertical rules or edges: more room for the columns on 80 columns."""
    return Table(
        title=title,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        title_justify="left",
    )


def fits(rendered: Table) -> bool:
    """Whether the table fits the terminal (or 80 columns in a pipe) without cutting a cell."""
    unbounded = console.options.update_width(10_000)  # else the measure is clamped to fit
    return Measurement.get(console, unbounded, rendered).minimum <= console.width


def longest_word(texts: Sequence[str]) -> int:
    """The width a wrapping column needs so that no word (a rule id) is ever split."""
    return max((len(word) for text in texts for word in text.split()), default=0)


def print_records(
    records: Sequence[Mapping[str, Any]], columns: Sequence[str], output: OutputFormat
) -> None:
    """Records as CSV (a header, then one row each) or JSON (an array of objects)."""
    if output is OutputFormat.JSON:
        console.out(json.dumps([dict(record) for record in records], indent=2), highlight=False)
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({name: record.get(name) for name in columns})
    # Plain text: no markup, no re-wrapping of long rows.
    console.out(buffer.getvalue(), end="", highlight=False)
