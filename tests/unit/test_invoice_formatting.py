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
    line = invoice.lines[0]
    fraction = f"{int(line.quantity)}/{line.period_days}"
    assert subscription.quantity == f"{fraction} month"
    assert subscription.detail.startswith(f"{fraction} of the monthly fee 49.00")
    assert subscription.description.startswith("Subscription, Business tier, ")


def test_a_full_month_is_one_month_and_amounts_follow_the_minor_units() -> None:
    from dataclasses import replace

    invoice = sample_invoice(5, usage_lines=1, late_lines=0)
    subscription = line_groups(invoice)[0].lines[0]
    assert (subscription.quantity, subscription.detail) == ("1 month", "")
    assert formatting.amount(Decimal("1234"), 0) == "1,234"
    assert formatting.amount(Decimal("1.5"), 3) == "1.500"
    assert formatting.unit_price(Decimal("990.000000"), 0) == "990"
    assert formatting.plain(Decimal("1234.5"), 2) == "1234.50"
    # An operator without a display name (a line issued before the seed) shows its id.
    usage = replace(invoice.lines[1], operator_name=None)
    assert line_groups(replace(invoice, lines=(invoice.lines[0], usage)))[1].lines[
        0
    ].description == ("Outbound segments via att_us")
