"""Money as printed everywhere (billing.money): fixed point, never scientific notation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing import money


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0", "0.00"),
        ("990.000000", "990.00"),  # Decimal.normalize() would print 9.9E+2
        ("1E+3", "1,000.00"),
        ("1234567.891", "1,234,567.891"),  # more places than two are shown, never rounded
        ("-0.5", "-0.50"),
    ],
)
def test_amounts_are_fixed_point_with_at_least_two_places(value: str, text: str) -> None:
    assert money.format_amount(Decimal(value), "EUR") == text


def test_amounts_without_grouping_and_with_the_currency_code() -> None:
    assert money.format_amount(Decimal("1234.5"), grouping=False) == "1234.50"
    assert money.format_money(Decimal("1234.5"), "GBP") == "1,234.50 GBP"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.012300", "0.0123"),
        ("490.000000", "490.00"),
        ("1E+1", "10.00"),
        ("0.000001", "0.000001"),
        ("1234.5", "1,234.50"),
    ],
)
def test_unit_prices_keep_their_catalogue_precision(value: str, text: str) -> None:
    assert money.format_unit_price(Decimal(value)) == text
    assert money.format_unit_price(Decimal(value), grouping=False) == text.replace(",", "")


def test_quantities_and_exact_amounts() -> None:
    assert money.format_quantity(1234567) == "1,234,567"
    assert money.format_quantity(Decimal("2.50")) == "2.5"
    assert money.format_quantity(Decimal("3E+2")) == "300"
    assert money.exact_amount(Decimal("7")) == "7.00"
    assert money.exact_amount(Decimal("1234.505"), "EUR") == "1234.50"  # half even, as before
    assert money.exact_amount(Decimal("-12.3")) == "-12.30"


def test_each_currency_has_its_iso_minor_units() -> None:
    assert {money.currency_places(code) for code in ("EUR", "USD", "GBP", None)} == {2}
    assert (money.currency_places("JPY"), money.currency_places("BHD")) == (0, 3)
    assert money.exact_amount(Decimal("4790"), "JPY") == "4790"
    assert money.exact_amount(Decimal("13.477"), "BHD") == "13.477"
    assert money.exact_amount(Decimal("13.480"), "BHD") == "13.480"
    assert money.format_amount(Decimal("4790"), "JPY") == "4,790"
    assert money.stored_places(Decimal("0.012300")) == 4
    assert money.stored_places(Decimal("990")) == 0
