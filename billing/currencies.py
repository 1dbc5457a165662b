"""ISO 4217 minor units: how many decimal places an amount in a currency has.

The catalogue seed `dbt_project/seeds/iso_4217_currencies.csv` is the source the SQL rounds
with (JPY 0, EUR 2, BHD 3); this is the same table for Python, which must not need a
database to print or publish an amount. tests/unit/test_currencies.py checks that the two
agree, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Final

DEFAULT_MINOR_UNITS: Final = 2

# The currencies whose minor units are not 2 (every other ISO 4217 code has 2).
_NOT_TWO: Final[dict[str, int]] = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def minor_units(currency: str) -> int:
    """Decimal places of an amount in `currency` (ISO 4217 code): 'JPY' -> 0, 'BHD' -> 3."""
    return _NOT_TWO.get(currency.upper(), DEFAULT_MINOR_UNITS)


def currencies_with_places(places: int) -> tuple[str, ...]:
    """The codes whose minor units are `places` (not 2), sorted: for the event contract."""
    return tuple(sorted(code for code, units in _NOT_TWO.items() if units == places))
