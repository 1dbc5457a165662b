"""What a customer reads on an invoice line, worded from the issued line's own fields.

The customer's documents never show internal ids (rule ids, fee ids, operator ids): a usage
line names its operator by the display name the operators seed gave it at issue, and counts
segments, the billable unit. Finance keeps the issued description (with its rule id) in
billing.invoice_lines, the CSV export and `billing invoices show --detail`.

Every line reads as quantity × unit price = amount. A subscription line's quantity is the
fraction of the month it bills ("17/30 month" of the monthly fee), never a count of days. A
usage line whose price version was in force for part of its month only (a mid-month price
change) says which dates it covers; two lines of the same operator and direction priced at two
tiers (a tier change) say which tier. A line whose amount rounds to zero shows its exact value
and the rounding (docs/invoices.md: Finance's choice is to show it, never to hide it).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from billing import money
from billing.countries import country_name
from billing.issued import InvoiceLine
from billing.periods import Period
from invoice_renderer import formatting


@dataclass(frozen=True)
class LineText:
    """A line as printed: description, an optional detail under it, quantity and price."""

    description: str
    detail: str
    quantity: str
    unit_price: str
    amount: str


def _tier(line: InvoiceLine) -> str:
    return f"{line.account_tier[:1].upper()}{line.account_tier[1:]} tier"


def operator_label(line: InvoiceLine) -> str:
    """'Orange, France': the display name at issue and its country (the id if it had none)."""
    if not line.operator_name:
        return line.operator_id or ""
    if not line.operator_country:
        return line.operator_name
    return f"{line.operator_name}, {country_name(line.operator_country)}"


def _month_bounds(usage_period: str) -> tuple[date, date]:
    month = Period.parse(usage_period)
    last = calendar.monthrange(month.start.year, month.start.month)[1]
    return month.start, month.start.replace(day=last)


def _date_range(start: date, end: date) -> str:
    return f"{formatting.long_date(start)} to {formatting.long_date(end)}"


def _partial_month(line: InvoiceLine) -> bool:
    """A usage line whose price version was in force on part of its month only."""
    if line.service_start is None or line.service_end is None:
        return False
    return (line.service_start, line.service_end) != _month_bounds(line.usage_period)


def _rounding_note(line: InvoiceLine, places: int) -> str:
    """For a line that rounds to zero: its exact value and the rounding, shown, never hidden."""
    if line.amount != 0 or line.unit_price == 0 or line.quantity == 0:
        return ""
    zero = formatting.amount(line.amount, places)
    if line.line_type == "subscription":
        return f"rounds to {zero}"
    exact = formatting.plain(line.quantity * line.unit_price, places)
    return (
        f"{formatting.quantity(line.quantity)} × {formatting.unit_price(line.unit_price, places)}"
        f" = {exact}, which rounds to {zero}"
    )


def _subscription(line: InvoiceLine, places: int, price_places: int) -> LineText:
    days = int(line.quantity)
    month_days = line.period_days or days
    fee = formatting.unit_price(line.unit_price, price_places)
    description = "Subscription, " + _tier(line)
    if line.service_start and line.service_end:
        description += f", {_date_range(line.service_start, line.service_end)}"
    if days == month_days:
        quantity, detail = "1 month", ""
    else:
        quantity = f"{days}/{month_days} month"
        detail = f"{days}/{month_days} of the monthly fee {fee} ({days} of {month_days} days)"
    return LineText(
        description=description,
        detail=_join(detail, _rounding_note(line, places)),
        quantity=quantity,
        unit_price=fee,
        amount=formatting.amount(line.amount, places),
    )


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _usage(
    line: InvoiceLine, siblings: list[InvoiceLine], places: int, price_places: int
) -> LineText:
    direction = (line.direction or "").capitalize()
    dates = ""
    if _partial_month(line) and line.service_start and line.service_end:
        dates = (
            f"Usage of {_date_range(line.service_start, line.service_end)}, at the price in "
            "force on those dates"
        )
    tier = ""
    if len({sibling.account_tier for sibling in siblings}) > 1:
        tier = f"{_tier(line)} price"
    return LineText(
        description=f"{direction} segments via {operator_label(line)}",
        detail=_join(dates, tier, _rounding_note(line, places)),
        quantity=formatting.quantity(line.quantity),
        unit_price=formatting.unit_price(line.unit_price, price_places),
        amount=formatting.amount(line.amount, places),
    )


def _key(line: InvoiceLine) -> tuple[str, str | None, str | None]:
    return line.usage_period, line.operator_id, line.direction


def price_places(lines: Iterable[InvoiceLine], places: int) -> int:
    """Decimals for the unit prices of a block of lines: as many as the most precise one has,
    at least `places`, so that a column of prices lines up (0.033150 under 0.069678)."""
    return max([places, *(money.stored_places(line.unit_price) for line in lines)])


def describe(
    line: InvoiceLine,
    lines: tuple[InvoiceLine, ...],
    places: int,
    unit_places: int | None = None,
) -> LineText:
    """How `line` of an invoice with `lines` reads: amounts with `places` decimals, the unit
    price with `unit_places` (default: as stored, at least `places`)."""
    price = price_places([line], places) if unit_places is None else unit_places
    if line.line_type == "subscription":
        return _subscription(line, places, price)
    siblings = [
        other for other in lines if other.line_type != "subscription" and _key(other) == _key(line)
    ]
    return _usage(line, siblings, places, price)
