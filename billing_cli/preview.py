"""`billing preview --month YYYY-MM`: a month's DRAFT invoices, as the close would issue now."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

import typer

from billing.money import exact_amount, format_amount, format_unit_price
from billing_cli.app import app, console
from billing_cli.invoices import LINE_COLUMNS as ISSUED_LINE_COLUMNS
from billing_cli.options import Month, database_url, settings
from billing_cli.output import FormatOption, OutputFormat, print_records, table, tenant_label
from finance.preview import DraftInvoice, Preview, build_preview, read_preview

LINE_COLUMNS = (
    "status",
    "period",
    "tenant_id",
    "currency",
    "subtotal",
    "total",
    *ISSUED_LINE_COLUMNS,  # a draft line says what an issued line says, and a bit more
    "service_start",
    "service_end",
    "period_days",
    "event_count",
)
ISSUED_COLUMNS = (
    "status",
    "invoice_number",
    "period",
    "tenant_id",
    "currency",
    "subtotal",
    "total",
)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _draft_record(draft: DraftInvoice) -> dict[str, Any]:
    return {
        "status": "DRAFT",
        "invoice_number": None,
        "period": draft.period,
        "tenant_id": str(draft.tenant_id),
        "tenant_name": draft.tenant_name,
        "currency": draft.currency,
        "subtotal": exact_amount(draft.subtotal, draft.currency),
        "total": exact_amount(draft.total, draft.currency),
        "line_count": draft.line_count,
        "event_count": draft.event_count,
        "built_at": draft.built_at.isoformat(),
        "lines": [
            {
                "line_number": line.line_number,
                "line_type": line.line_type,
                "description": line.description,
                "usage_period": line.usage_period,
                "operator_id": line.operator_id,
                "direction": line.direction,
                "account_tier": line.account_tier,
                "rule_id": line.rule_id,
                "fee_id": line.fee_id,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "amount": exact_amount(line.amount, draft.currency),
                "service_start": _text(line.service_start),
                "service_end": _text(line.service_end),
                "period_days": line.period_days,
                "event_count": line.event_count,
            }
            for line in draft.lines
        ],
    }


def _document(result: Preview) -> dict[str, Any]:
    if result.closed:
        return {
            "period": result.period.label,
            "closed": True,
            "issued_invoices": [
                {
                    "status": invoice.status.value,
                    "invoice_number": invoice.invoice_number,
                    "tenant_id": str(invoice.tenant_id),
                    "currency": invoice.currency,
                    "subtotal": exact_amount(invoice.subtotal, invoice.currency),
                    "total": exact_amount(invoice.total, invoice.currency),
                }
                for invoice in result.issued
            ],
        }
    return {
        "period": result.period.label,
        "closed": False,
        "drafts": [_draft_record(draft) for draft in result.drafts],
        "unpriced_events": [
            {"period": u.period, "reason": u.reason, "events": u.events, "tenants": u.tenants}
            for u in result.unpriced
        ],
        "coverage_gaps": [
            {
                "source": gap.source,
                "gap": gap.gap,
                "period": gap.period,
                "account_tier": gap.account_tier,
                "operator_id": gap.operator_id,
                "direction": gap.direction,
                "currency": gap.currency,
                "first_day": _text(gap.first_day),
                "last_day": _text(gap.last_day),
                "event_count": gap.event_count,
                "day_count": gap.day_count,
            }
            for gap in result.gaps
        ],
    }


def _csv(result: Preview) -> None:
    """One row per draft line (the invoice's columns repeated), or per issued invoice."""
    document = _document(result)
    if result.closed:
        print_records(document["issued_invoices"], ISSUED_COLUMNS, OutputFormat.CSV)
        return
    rows = [
        {**{k: v for k, v in draft.items() if k != "lines"}, **line}
        for draft in document["drafts"]
        for line in draft["lines"]
    ]
    print_records(rows, LINE_COLUMNS, OutputFormat.CSV)


def _print_draft(draft: DraftInvoice) -> None:
    rows = table(
        f"DRAFT {draft.period}  {tenant_label(draft.tenant_name, draft.tenant_id)}  "
        f"(no invoice number: not issued)"
    )
    for column in ("#", "description", "quantity", "unit price", "amount"):
        rows.add_column(column, justify="left" if column == "description" else "right")
    for line in draft.lines:
        rows.add_row(
            str(line.line_number),
            line.description,
            f"{line.quantity:,}",
            format_unit_price(line.unit_price, draft.currency),
            format_amount(line.amount, draft.currency),
        )
    console.print(rows)
    console.print(f"  subtotal {format_amount(draft.subtotal, draft.currency)} {draft.currency}")
    console.print(f"  total    {format_amount(draft.total, draft.currency)} {draft.currency}")


def _print_table(result: Preview) -> None:
    label = result.period.label
    if result.closed:
        console.print(f"[bold]{label} is closed:[/] its issued invoices (not a preview)")
        rows = table(f"{label}: issued invoices")
        for column in ("invoice", "tenant", "status", "total"):
            rows.add_column(column, justify="right" if column == "total" else "left")
        for invoice in result.issued:
            name = invoice.customer.name if invoice.customer else None
            rows.add_row(
                invoice.invoice_number,
                tenant_label(name, invoice.tenant_id),
                invoice.status.value,
                f"{format_amount(invoice.total, invoice.currency)} {invoice.currency}",
            )
        console.print(rows)
        return
    console.print(f"[bold yellow]DRAFT[/] invoices of {label}: nothing issued, no number taken")
    if not result.drafts:
        console.print(f"no draft invoices of {label}")
    for draft in result.drafts:
        _print_draft(draft)
    if result.unpriced:
        rows = table("Unpriced events (each blocks the close): fix the catalogue or accounts")
        for column in ("month", "reason", "events", "tenants"):
            rows.add_column(column, justify="right" if column in ("events", "tenants") else "left")
        for u in result.unpriced:
            rows.add_row(u.period, u.reason, f"{u.events:,}", f"{u.tenants:,}")
        console.print(rows)
    else:
        console.print("unpriced events: none")
    if result.gaps:
        rows = table("Catalogue coverage gaps")
        for column in ("source", "gap", "month", "tier", "operator", "direction", "days"):
            rows.add_column(column)
        for gap in result.gaps:
            rows.add_row(
                gap.source,
                gap.gap,
                gap.period,
                gap.account_tier or "-",
                gap.operator_id or "-",
                gap.direction or "-",
                f"{gap.first_day} to {gap.last_day}",
            )
        console.print(rows)
    else:
        console.print("catalogue coverage gaps: none")


@app.command("preview")
def preview_command(
    month: Month,
    tenant: Annotated[
        UUID | None,
        typer.Option("--tenant", metavar="TENANT_ID", help="Only this tenant's draft."),
    ] = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """DRAFT invoices of a month not closed yet: lines, subtotal and total per tenant as the
    close would issue them now, with the month's unpriced events and catalogue coverage gaps.

    Builds the close's own dbt models for the month; issues nothing and takes no invoice
    number. A closed month shows its issued invoices instead. Needs only PostgreSQL.
    """
    current = settings()
    url = database_url(current)
    build_preview(current, url, month)
    result = read_preview(current, url, month, tenant)
    if output is OutputFormat.JSON:
        console.out(json.dumps(_document(result), indent=2), highlight=False)
    elif output is OutputFormat.CSV:
        _csv(result)
    else:
        _print_table(result)
