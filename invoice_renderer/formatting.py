"""How money, quantities and dates read on an invoice. Decimal only: floats never touch money.

Decisions (docs/invoices.md): amounts show exactly the two places stored, with thousands
separators; unit prices keep every stored decimal up to six (at least two); currencies are
shown by ISO code, which is unambiguous where "$" is not.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from billing.periods import Period

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_CENT = Decimal("0.01")


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def amount(value: Decimal) -> str:
    """A money amount with two places and thousands separators: Decimal('1234.5') -> '1,234.50'.

    Amounts are stored with two places; a value with more is shown in full, never rounded here.
    """
    return f"{value:,.{max(2, _places(value))}f}"


def money(value: Decimal, currency: str) -> str:
    """An amount with its ISO currency code: 'EUR 1,234.50'."""
    return f"{currency} {amount(value)}"


def unit_price(value: Decimal) -> str:
    """A unit price with at least two and up to six places, as stored: '0.0123', '49.00'."""
    return f"{value:,.{max(2, _places(value))}f}"


def quantity(value: Decimal) -> str:
    """A quantity without trailing zeros, with thousands separators: '12,345', '2.5'."""
    return f"{value:,.{_places(value)}f}"


def period_name(period: str) -> str:
    """'2026-10' -> 'October 2026'."""
    return Period.parse(period).name


def long_date(value: date | datetime) -> str:
    """'1 November 2026' (day month year: read the same way everywhere)."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def short_date(value: date) -> str:
    """'1 Oct 2026'."""
    return f"{value.day} {MONTHS[value.month - 1][:3]} {value.year}"


def cents(value: Decimal) -> str:
    """A decimal string with exactly two places and no separators, for events: '1234.50'."""
    return str(value.quantize(_CENT))
