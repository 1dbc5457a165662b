"""Issued invoices for tests, benchmarks and the docs picture, without running a close.

`sample_invoice` makes a realistic invoice (subscription, usage by operator and direction,
late usage) whose lines satisfy the rules of SPEC §4; `insert_issued` appends it to the issued
tables (and its account to ref.accounts) with an owner connection, as the close would have
(as forged history: the database refuses issued rows outside an issue transaction).
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import psycopg
from psycopg.types.json import Jsonb

from billing.issued import Customer, InvoiceLine, IssuedInvoice
from billing.settings import PROJECT_ROOT, Issuer, TaxStatement
from producers.sample import DIRECTIONS, OPERATORS, TIERS, sample_tenant_id
from tests.support.forge import forged_history

# The Finance seed: display name and country of each operator, as the issue step copies them.
with (PROJECT_ROOT / "dbt_project" / "seeds" / "operators.csv").open(encoding="utf-8") as _seed:
    OPERATOR_NAMES = {
        row["operator_id"]: (row["display_name"], row["country"]) for row in csv.DictReader(_seed)
    }
_ADDRESSES = (
    ("Hafenstraße 12\n20457 Hamburg", "DE", "DE123456789"),
    ("8 rue des Lilas\n75011 Paris", "FR", "FR40123456789"),
    (None, None, None),
)

_CENT = Decimal("0.01")
_FEES = {"starter": Decimal("19.00"), "business": Decimal("49.00"), "enterprise": Decimal("490.00")}
_COMPANIES = (
    "Northwind Logistics GmbH",
    "Café Émile SARL",
    "Blue Harbour Telecom Ltd",
    "Łódź Parcel Services sp. z o.o.",
    "Acme Notifications Inc.",
    "Fjällräven Alerts AB",
)


def invoice_number(period: str, seq: int) -> str:
    """INV-YYYYMM-NNNNNN."""
    return f"INV-{period.replace('-', '')}-{seq:06d}"


def _previous(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def _month_start(period: str) -> date:
    year, month = (int(part) for part in period.split("-"))
    return date(year, month, 1)


def _month_end(period: str) -> date:
    start = _month_start(period)
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def sample_invoice(
    seq: int,
    *,
    period: str = "2026-10",
    usage_lines: int = 18,
    late_lines: int = 2,
    currency: str = "EUR",
    seed: int | None = None,
    replaces: str | None = None,
    tenant_index: int | None = None,
) -> IssuedInvoice:
    """A made-up issued invoice: one subscription line, usage lines, late usage lines."""
    rng = random.Random(seed if seed is not None else seq)
    tenant_id = sample_tenant_id(seq if tenant_index is None else tenant_index)
    tier = TIERS[seq % len(TIERS)]
    year, month = (int(part) for part in period.split("-"))
    days = calendar.monthrange(year, month)[1]
    active = days if seq % 4 else rng.randint(5, days)
    start = date(year, month, days - active + 1)
    fee = _FEES[tier]
    lines: list[InvoiceLine] = [
        InvoiceLine(
            line_number=1,
            line_type="subscription",
            description=(
                f"Subscription, {tier} tier, {start.isoformat()} to "
                f"{date(year, month, days).isoformat()} ({active}/{days} days)"
            ),
            usage_period=period,
            operator_id=None,
            direction=None,
            account_tier=tier,
            rule_id=None,
            fee_id=f"{tier}.{currency}.2025",
            quantity=Decimal(active),
            unit_price=fee,
            amount=_round(fee * active / days),
            service_start=start,
            service_end=date(year, month, days),
            period_days=days,
        )
    ]
    combos = [(op, direction) for op in sorted(OPERATORS) for direction in DIRECTIONS]
    for kind, count, usage_period in (
        ("usage", usage_lines, period),
        ("late_usage", late_lines, _previous(period)),
    ):
        for index in range(count):
            operator, direction = combos[index % len(combos)]
            version = index // len(combos) + 1
            rule_id = f"{tier}.{operator}.{direction}.{currency}.v{version}"
            quantity = Decimal(rng.randint(1, 250_000))
            unit_price = Decimal(rng.randint(1_000, 90_000)) / Decimal(1_000_000)
            prefix = "" if kind == "usage" else f"Late usage {usage_period}: s"
            lines.append(
                InvoiceLine(
                    line_number=len(lines) + 1,
                    line_type=kind,
                    description=(
                        f"{prefix or 'S'}egments {direction} via {operator} (rule {rule_id})"
                    ),
                    usage_period=usage_period,
                    operator_id=operator,
                    direction=direction,
                    account_tier=tier,
                    rule_id=rule_id,
                    fee_id=None,
                    quantity=quantity,
                    unit_price=unit_price,
                    amount=_round(quantity * unit_price),
                    service_start=_month_start(usage_period),
                    service_end=_month_end(usage_period),
                    period_days=None,
                    operator_name=OPERATOR_NAMES[operator][0],
                    operator_country=OPERATOR_NAMES[operator][1],
                )
            )
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    issued_at = datetime(year + (month == 12), month % 12 + 1, 1, 3, 4, 59, tzinfo=UTC)
    address, country, tax_id = _ADDRESSES[seq % len(_ADDRESSES)]
    return IssuedInvoice(
        invoice_number=invoice_number(period, seq),
        period=period,
        tenant_id=tenant_id,
        currency=currency,
        subtotal=subtotal,
        total=subtotal,
        line_count=len(lines),
        issued_at=issued_at,
        replaces_invoice_number=replaces,
        customer=Customer(
            tenant_id=tenant_id,
            name=_COMPANIES[seq % len(_COMPANIES)],
            billing_email=f"accounts-payable+{seq}@customer{seq}.example",
            address=address,
            country=country,
            tax_id=tax_id,
        ),
        lines=tuple(lines),
        issuer=Issuer(),
        tax=TaxStatement(),
        payment_terms_days=30,
        due_date=issued_at.date() + timedelta(days=30),
        minor_units=2,
        catalogue_versions={"pricing_rules": "0" * 32, "tier_fees": "1" * 32},
    )


def insert_issued(conn: psycopg.Connection[tuple[object, ...]], invoice: IssuedInvoice) -> None:
    """Append an invoice to the issued tables (and upsert its account), as the close does."""
    customer = invoice.customer
    assert customer is not None
    conn.execute(
        "insert into ref.accounts (tenant_id, name, currency, billing_email, activated_on,"
        " address, country, tax_id) values (%s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (tenant_id) do nothing",
        (
            customer.tenant_id,
            customer.name,
            invoice.currency,
            customer.billing_email,
            date(2025, 1, 1),
            customer.address,
            customer.country,
            customer.tax_id,
        ),
    )
    seq = int(invoice.invoice_number.rsplit("-", 1)[1])
    issuer = invoice.issuer or Issuer()
    tax = invoice.tax or TaxStatement()
    with forged_history(conn):
        conn.execute(
            "insert into billing.issued_invoices (invoice_number, period, seq, tenant_id, currency,"
            " subtotal, total, line_count, issued_at, replaces_invoice_number, bill_to_name,"
            " bill_to_email, bill_to_address, bill_to_country, bill_to_tax_id, issuer_name,"
            " issuer_address, issuer_vat_id, issuer_email, payment_terms_days, due_date,"
            " currency_minor_units, tax_statement, tax_reason, catalogue_versions)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s, %s, %s, %s)",
            (
                invoice.invoice_number,
                invoice.period,
                seq,
                invoice.tenant_id,
                invoice.currency,
                invoice.subtotal,
                invoice.total,
                invoice.line_count,
                invoice.issued_at,
                invoice.replaces_invoice_number,
                customer.name,
                customer.billing_email,
                customer.address,
                customer.country,
                customer.tax_id,
                issuer.name,
                issuer.address,
                issuer.vat_id,
                issuer.email,
                invoice.payment_terms_days,
                invoice.due_date,
                invoice.minor_units,
                tax.statement,
                tax.reason,
                Jsonb(invoice.catalogue_versions),
            ),
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into billing.issued_invoice_lines (invoice_number, line_number, tenant_id,"
                " line_type, description, usage_period, operator_id, direction, account_tier,"
                " rule_id, fee_id, quantity, unit_price, amount, service_start, service_end,"
                " period_days, operator_name, operator_country) values (%s, %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        invoice.invoice_number,
                        line.line_number,
                        invoice.tenant_id,
                        line.line_type,
                        line.description,
                        line.usage_period,
                        line.operator_id,
                        line.direction,
                        line.account_tier,
                        line.rule_id,
                        line.fee_id,
                        line.quantity,
                        line.unit_price,
                        line.amount,
                        line.service_start,
                        line.service_end,
                        line.period_days,
                        line.operator_name,
                        line.operator_country,
                    )
                    for line in invoice.lines
                ],
            )


def insert_void(
    conn: psycopg.Connection[tuple[object, ...]],
    invoice: IssuedInvoice,
    reason: str = "Wrong price catalogue applied",
    replacement: str = "required",
) -> None:
    """Void an invoice as Finance would have (forged history: voided_by is the owner)."""
    with forged_history(conn):
        conn.execute(
            "insert into billing.invoice_voids (invoice_number, tenant_id, reason, replacement,"
            " voided_at) values (%s, %s, %s, %s, %s)",
            (
                invoice.invoice_number,
                invoice.tenant_id,
                reason,
                replacement,
                datetime(2026, 11, 5, 10, 30, tzinfo=UTC),
            ),
        )


def new_uuid() -> uuid.UUID:
    """A random UUID (kept here so tests read as data set-up)."""
    return uuid.uuid4()


def with_document_cases(invoice: IssuedInvoice, change_day: int = 15) -> IssuedInvoice:
    """The invoice with the cases a document must word well: its first usage line split by a
    price change on `change_day` (two lines, each with the dates its price was in force) and
    a usage line that rounds to 0.00 (3 x 0.001)."""
    lines = list(invoice.lines)
    first = next(index for index, line in enumerate(lines) if line.line_type == "usage")
    old = lines[first]
    assert old.operator_id is not None
    assert old.service_start is not None
    change = old.service_start.replace(day=change_day)
    before_quantity = old.quantity * (change_day - 1) // 31
    new_price = (old.unit_price * Decimal("1.1")).quantize(Decimal("0.000001"))
    after_quantity = old.quantity - before_quantity
    split = [
        dataclasses.replace(
            old,
            quantity=before_quantity,
            amount=_round(before_quantity * old.unit_price),
            service_end=change - timedelta(days=1),
        ),
        dataclasses.replace(
            old,
            rule_id=(old.rule_id or "").replace(".v1", ".v2"),
            description=old.description.replace(".v1", ".v2"),
            quantity=after_quantity,
            unit_price=new_price,
            amount=_round(after_quantity * new_price),
            service_start=change,
        ),
    ]
    operator = "verizon_us"
    tiny = dataclasses.replace(
        old,
        operator_id=operator,
        direction="inbound",
        rule_id=f"{old.account_tier}.{operator}.inbound.{invoice.currency}.v1",
        description=f"Segments inbound via {operator} (rule {old.account_tier}.{operator}.v1)",
        quantity=Decimal(3),
        unit_price=Decimal("0.001000"),
        amount=Decimal("0.00"),
        operator_name=OPERATOR_NAMES[operator][0],
        operator_country=OPERATOR_NAMES[operator][1],
        service_start=_month_start(old.usage_period),
        service_end=_month_end(old.usage_period),
    )
    last_usage = max(index for index, line in enumerate(lines) if line.line_type == "usage")
    lines = (
        lines[:first] + split + lines[first + 1 : last_usage + 1] + [tiny] + lines[last_usage + 1 :]
    )
    lines = [dataclasses.replace(line, line_number=number) for number, line in enumerate(lines, 1)]
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    return dataclasses.replace(
        invoice, lines=tuple(lines), line_count=len(lines), subtotal=subtotal, total=subtotal
    )
