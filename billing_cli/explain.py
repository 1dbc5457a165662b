"""`billing invoices explain NUMBER [--line N] [--events]`: how an issued line came to be.

Finance answers a customer's dispute from it alone: the catalogue row and tier behind each
line, its quantity, and the events the issued event map holds for it (docs/finance-tools.md).
"""

from __future__ import annotations

import csv
import sys
from typing import Annotated

import psycopg
import typer

from billing.issued import InvoiceLine
from billing.money import format_places, format_quantity, format_unit_price
from billing_cli.app import console
from billing_cli.invoices import Number, invoices_app
from billing_cli.options import database_url
from billing_cli.output import tenant_label
from finance.explain import (
    EVENT_COLUMNS,
    CatalogueRow,
    EventSummary,
    Explanation,
    LineExplanation,
    explain,
    line_events,
)


def _validity(row: CatalogueRow | None) -> str:
    if row is None:
        return "not in today's catalogue (removed since the close: see the catalogue's history)"
    until = f"until {row.effective_to} (exclusive)" if row.effective_to else "open-ended"
    return f"{row.kind} {row.row_id}: {row.price} from {row.effective_from}, {until}"


def _plural(count: int, noun: str) -> str:
    return f"{format_quantity(count)} {noun}{'' if count == 1 else 's'}"


def _amount(line: InvoiceLine, summary: EventSummary | None, currency: str, places: int) -> str:
    issued = f"{format_places(line.amount, places)} {currency}"
    if line.line_type == "subscription":
        return (
            f"{format_unit_price(line.unit_price, currency)} a month × "
            f"{format_quantity(line.quantity)}/{line.period_days} days = {issued} "
            "(rounded half-up)"
        )
    exact = f", {summary.exact_amount.normalize():f} exact" if summary is not None else ""
    return (
        f"{format_quantity(line.quantity)} × {format_unit_price(line.unit_price, currency)}"
        f"{exact} = {issued} (rounded half-up)"
    )


def _events(summary: EventSummary, line: LineExplanation) -> list[str]:
    lines = [
        f"events     {_plural(summary.events, 'event')} of "
        f"{_plural(summary.segments, 'segment')} (the line's quantity: "
        f"{format_quantity(line.line.quantity)})"
    ]
    if summary.first_occurred_at is not None:
        lines.append(
            f"occurred   {summary.first_occurred_at:%Y-%m-%d %H:%M:%S} to "
            f"{summary.last_occurred_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    if summary.repriced:
        lines.append(
            f"repriced   {summary.repriced:,} of them price differently in today's build "
            "(a catalogue or tier change since the close): the issued line stands"
        )
    for event in summary.sample:
        lines.append(
            f"  {event['event_id']}  {event['occurred_at']:%Y-%m-%d %H:%M:%S}  "
            f"{event['segments']} × {event['unit_price']} = {event['amount']}"
        )
    if summary.events > len(summary.sample):
        lines.append(f"  … {summary.events - len(summary.sample):,} more: add --events for all")
    return lines


def _print(explanation: Explanation) -> None:
    invoice = explanation.invoice
    name = invoice.customer.name if invoice.customer else None
    places = invoice.minor_units
    console.print(f"[bold]{invoice.invoice_number}[/]  {invoice.status.value}  {invoice.period}")
    console.print(f"tenant     {tenant_label(name, invoice.tenant_id)}", markup=False)
    if explanation.replaced is not None:
        replaced = explanation.replaced
        why = f": {replaced.void.reason}" if replaced.void else ""
        console.print(
            f"replaces   {replaced.invoice_number} (voided{why}); its events are billed here",
            markup=False,
        )
    for explained in explanation.lines:
        line = explained.line
        console.print()
        console.print(f"[bold]line {line.line_number}[/]  {line.line_type}", highlight=False)
        console.print(f"  {line.description}", markup=False)
        console.print(f"amount     {_amount(line, explained.events, invoice.currency, places)}")
        console.print(f"catalogue  {_validity(explained.catalogue_row)}", markup=False)
        tiers = ", ".join(
            f"{tier.account_tier} from {tier.effective_from}" for tier in explained.tiers
        )
        console.print(f"tier       {tiers or 'none on record'} (line: {line.account_tier})")
        if line.service_start is not None:
            days = f", {line.period_days}-day month" if line.period_days else ""
            console.print(f"service    {line.service_start} to {line.service_end}{days}")
        if explained.late:
            console.print(
                f"late       usage that occurred in {line.usage_period}, not on a "
                f"{line.usage_period} invoice (it landed after that close), billed here at "
                "the prices in force when it occurred"
            )
        if explained.events is not None:
            for text in _events(explained.events, explained):
                console.print(text, markup=False)


@invoices_app.command("explain")
def explain_command(
    number: Number,
    line: Annotated[
        int | None, typer.Option("--line", min=1, help="Explain this line only.")
    ] = None,
    events: Annotated[
        bool,
        typer.Option(
            "--events",
            help="Print every event behind the line(s) as CSV instead (line_number first).",
        ),
    ] = False,
) -> None:
    """How an issued line came to be: the catalogue row and tier in force, the quantity, and
    the events the issued event map holds for it (a sample; --events: all, as CSV)."""
    with psycopg.connect(database_url()) as conn:
        if events:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(("line_number", *EVENT_COLUMNS))
            for row in line_events(conn, number, line):
                writer.writerow(row)
            return
        explanation = explain(conn, number, line)
    _print(explanation)
