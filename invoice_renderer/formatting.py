"""How money, quantities and dates read on an invoice. Decimal only: floats never touch money.

Decisions (docs/invoices.md): amounts show the currency's minor units as the issued invoice
recorded them (EUR 2, JPY 0, BHD 3), with thousands separators; unit prices keep every stored
decimal up to six (at least the minor units); currencies are shown by ISO code, which is
unambiguous where "$" is not; every date reads "1 November 2026". Numbers are formatted by
billing.money, as everywhere else.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from billing import money as money_format
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


def amount(value: Decimal, places: int = 2) -> str:
    """A money amount with `places` decimals and thousands separators: '1,234.50', JPY '1,234'."""
    return money_format.format_places(value, places)


def money(value: Decimal, currency: str, places: int = 2) -> str:
    """An amount with its ISO currency code before it, as on the document: 'EUR 1,234.50'."""
    return f"{currency} {amount(value, places)}"


def unit_price(value: Decimal, places: int = 2) -> str:
    """A unit price with every stored decimal, at least `places`: '0.0123', '49.00', JPY '990'."""
    return money_format.format_places(value, places)


def plain(value: Decimal, places: int = 2) -> str:
    """A decimal string for files (JSON, CSV): no separators, never rounded: '1234.50'."""
    return money_format.format_places(value, places, grouping=False)


def quantity(value: Decimal) -> str:
    """A quantity without trailing zeros, with thousands separators: '12,345', '2.5'."""
    return money_format.format_quantity(value)


def period_name(period: str) -> str:
    """'2026-10' -> 'October 2026'."""
    return Period.parse(period).name


def long_date(value: date | datetime) -> str:
    """'1 November 2026' (day month year: read the same way everywhere)."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def short_date(value: date) -> str:
    """'1 Oct 2026'."""
    return f"{value.day} {MONTHS[value.month - 1][:3]} {value.year}"


def cents(value: Decimal, currency: str | None = None) -> str:
    """A decimal string with exactly the currency's places, no separators, for events: '1234.50'."""
    return money_format.exact_amount(value, currency)
