"""Charts and self-contained HTML reports for Finance (margins now, what-if reports later).

A PNG is drawn with matplotlib (Agg, no display needed); an HTML report embeds the same PNG
as base64 beside its table, so one file can be attached to a pull request or an email.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on servers and in CI
import matplotlib.pyplot as plt

MAX_BARS = 30  # more would be unreadable: the rest are summed into one bar
NEGATIVE = "#c0392b"
POSITIVE = "#2e7d32"


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal


@dataclass(frozen=True)
class Panel:
    """One bar chart: its title, its bars (the first at the top) and its value axis."""

    title: str
    bars: Sequence[Bar]
    value_label: str


def _capped(bars: Sequence[Bar]) -> list[Bar]:
    shown = list(bars[:MAX_BARS])
    if len(bars) > MAX_BARS:
        rest = sum((bar.value for bar in bars[MAX_BARS:]), Decimal(0))
        shown.append(Bar(f"{len(bars) - MAX_BARS} more", rest))
    return shown


def bar_chart_png(panels: Sequence[Panel]) -> bytes:
    """Horizontal bar charts stacked in one PNG (one panel per currency: amounts in different
    currencies never share an axis); negative bars red."""
    heights = [1.2 + 0.32 * max(len(_capped(panel.bars)), 1) for panel in panels]
    figure, axes_list = plt.subplots(
        len(panels), 1, figsize=(8, sum(heights)), dpi=110, squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )  # fmt: skip
    try:
        for panel, (axes,) in zip(panels, axes_list, strict=True):
            shown = _capped(panel.bars)
            values = [float(bar.value) for bar in shown][::-1]
            axes.barh(
                [bar.label for bar in shown][::-1],
                values,
                color=[NEGATIVE if value < 0 else POSITIVE for value in values],
            )
            axes.axvline(0, color="#555555", linewidth=0.8)
            axes.set_title(panel.title, loc="left", fontsize=11)
            axes.set_xlabel(panel.value_label)
            axes.tick_params(axis="y", labelsize=8)
            axes.grid(axis="x", color="#dddddd", linewidth=0.6)
            axes.set_axisbelow(True)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def html_report(
    title: str, header: Sequence[str], rows: Sequence[Sequence[str]], charts: Sequence[bytes]
) -> str:
    """One self-contained page: the title, the charts (embedded PNGs) and the table."""
    images = "\n".join(
        f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        for png in charts
    )
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
th, td {{ padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; }}
td:not(:first-child), th:not(:first-child) {{
    text-align: right; font-variant-numeric: tabular-nums; }}
img {{ max-width: 100%; display: block; margin: 1em 0; }}
</style></head>
<body><h1>{html.escape(title)}</h1>
{images}
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table></body></html>
"""


def write_report(path: Path, png: bytes, page: str) -> None:
    """PATH.png gets the chart, PATH.html the self-contained page (by the suffix)."""
    if path.suffix.lower() == ".png":
        path.write_bytes(png)
    else:
        path.write_text(page, encoding="utf-8")
