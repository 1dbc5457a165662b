"""How money, quantities and periods read on an invoice: Decimal in, exact text out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from invoice_renderer import formatting
from invoice_renderer.document import line_groups
from tests.support.issued_invoices import sample_invoice


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0", "0.00"),
        ("5", "5.00"),
        ("1234.5", "1,234.50"),
        ("1234567.89", "1,234,567.89"),
        ("-12.30", "-12.30"),
        ("0.005", "0.005"),  # more places than two are shown, never rounded away
    ],
)
def test_amounts_have_two_places_and_thousands_separators(value: str, text: str) -> None:
    assert formatting.amount(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.062000", "0.062"),
        ("0.012345", "0.012345"),
        ("49", "49.00"),
        ("198.990000", "198.99"),
        ("1.5", "1.50"),
    ],
)
def test_unit_prices_keep_their_decimals(value: str, text: str) -> None:
    assert formatting.unit_price(Decimal(value)) == text


def test_quantities_periods_dates_and_event_money() -> None:
    assert formatting.quantity(Decimal(1234567)) == "1,234,567"
    assert formatting.quantity(Decimal("2.50")) == "2.5"
    assert formatting.period_name("2026-10") == "October 2026"
    assert formatting.long_date(date(2026, 11, 1)) == "1 November 2026"
    assert formatting.money(Decimal("1234.5"), "GBP") == "GBP 1,234.50"
    assert formatting.cents(Decimal("7")) == "7.00"
    assert formatting.cents(Decimal("1234.50")) == "1234.50"


def test_lines_are_grouped_subscription_usage_then_late_usage_by_month() -> None:
    invoice = sample_invoice(4, usage_lines=3, late_lines=2)
    groups = line_groups(invoice)
    assert [group.title for group in groups] == [
        "Subscription",
        "Usage, October 2026",
        "Late usage from September 2026",
    ]
    assert [len(group.lines) for group in groups] == [1, 3, 2]
    subscription = groups[0].lines[0]
    assert subscription.detail.startswith("Monthly fee")
    assert "days" in subscription.quantity
