"""Options several commands share, and what each command asks of the environment.

Every --month is parsed by `Period.parse` (one message for every command); each command asks
only for the URLs it uses, so `billing accounts import` needs no NATS and `billing events
publish` no database.
"""

from __future__ import annotations

from typing import Annotated

import typer

from billing import localservices
from billing.periods import InvalidPeriodError, Period
from billing.settings import Settings, load_settings

MONTH_HELP = "The billing period, YYYY-MM (a UTC calendar month)."


def parse_month(text: str | Period) -> Period:
    """The typer parser of every --month: Period.parse's one message, as a usage error.

    Click also passes a default through it, which may be a Period already.
    """
    if isinstance(text, Period):
        return text
    try:
        return Period.parse(text)
    except InvalidPeriodError as error:
        raise typer.BadParameter(str(error)) from None


Month = Annotated[
    Period, typer.Option("--month", parser=parse_month, metavar="YYYY-MM", help=MONTH_HELP)
]
OptionalMonth = Annotated[
    Period | None,
    typer.Option("--month", parser=parse_month, metavar="YYYY-MM", help=MONTH_HELP),
]


def settings() -> Settings:
    """BILLING_* settings; an invalid one is refused with one line naming it."""
    return load_settings()


def database_url(current: Settings | None = None) -> str:
    """BILLING_DATABASE_URL, or the embedded server's: for commands that need only PostgreSQL."""
    return localservices.resolve_database_url(current or settings())


def nats_url(current: Settings | None = None) -> str:
    """BILLING_NATS_URL, or the embedded server's: for commands that need only NATS."""
    return localservices.resolve_nats_url(current or settings())
