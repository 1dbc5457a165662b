"""Money as people read it: every amount, unit price and quantity is formatted here.

Decimal only (floats never touch money) and fixed-point only: a Decimal that went through
`normalize()` prints as `9.9E+2` with `str()`, so nothing here uses `str()` or `normalize()`
for output. Amounts show at least the currency's places (its ISO 4217 minor units, JPY 0,
EUR 2, BHD 3: `currency_places`), and a stored value with more places is shown in full,
never rounded here. Unit prices keep their
catalogue precision (every stored decimal, at least two).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from billing.currencies import minor_units

DEFAULT_PLACES: Final = 2


def currency_places(currency: str | None = None) -> int:
    """Decimal places of an amount in `currency`: its ISO 4217 minor units (JPY 0, EUR 2,
    BHD 3; billing.currencies); two when no currency is given."""
    return DEFAULT_PLACES if currency is None else minor_units(currency)


def stored_places(value: Decimal) -> int:
    """Significant decimal places of a value: Decimal('0.012300') -> 4, Decimal('990') -> 0."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _fixed(value: Decimal, places: int, *, grouping: bool) -> str:
    return f"{value:,.{places}f}" if grouping else f"{value:.{places}f}"


def format_amount(value: Decimal, currency: str | None = None, *, grouping: bool = True) -> str:
    """An amount: Decimal('1234.5') -> '1,234.50'; Decimal('990.000000') -> '990.00'.

    The one function every printed amount goes through (CLI tables, invoices, totals).
    """
    places = max(currency_places(currency), stored_places(value))
    return _fixed(value, places, grouping=grouping)


def format_money(value: Decimal, currency: str) -> str:
    """An amount with its ISO currency code after it: '1,234.50 EUR'."""
    return f"{format_amount(value, currency)} {currency}"


def format_unit_price(value: Decimal, currency: str | None = None, *, grouping: bool = True) -> str:
    """A unit price as in the catalogue: '0.0123', '49.00', '990.00' (never '9.9E+2')."""
    return _fixed(value, max(currency_places(currency), stored_places(value)), grouping=grouping)


def format_quantity(value: Decimal | int) -> str:
    """A quantity without trailing zeros, with thousands separators: '12,345', '2.5'."""
    value = Decimal(value)
    return _fixed(value, stored_places(value), grouping=True)


def exact_amount(value: Decimal, currency: str | None = None) -> str:
    """Exactly the currency's places, no separators, for events and files: '1234.50',
    JPY '4790', BHD '13.477' (issued amounts already have exactly those places)."""
    places = currency_places(currency)
    return _fixed(value.quantize(Decimal(1).scaleb(-places)), places, grouping=False)


def format_places(value: Decimal, places: int, *, grouping: bool = True) -> str:
    """A value with `places` decimals (an issued invoice's currency minor units), more only
    where the stored value has more (never rounded here): JPY '1,234', BHD '1.250'."""
    return _fixed(value, max(places, stored_places(value)), grouping=grouping)
