"""The typer application, its two consoles, the exit codes and the global options."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

app = typer.Typer(
    name="billing",
    help=(
        "Usage-based billing: land charge events, price them, close months, issue invoices. "
        "Exit codes: 0 done, 1 failed (fix the cause and retry), 2 refused or wrong usage "
        "(nothing was done: fix the command or its input)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)
# soft_wrap: a line is never cut into two by the CLI (a URL, a path, an invoice number stays
# whole in a pipe); the terminal wraps it for the eye. Tables still fit the width.
console = Console(highlight=False, soft_wrap=True)
error_console = Console(stderr=True, highlight=False, soft_wrap=True)


class ExitCode(IntEnum):
    """What a script can rely on (docs/architecture.md)."""

    OK = 0
    FAILED = 1  # it went wrong while doing it: a server, the database, a bug
    REFUSED = 2  # nothing was done: bad usage, a bad value or file, not allowed, not possible
    INTERRUPTED = 130  # Ctrl-C


EXIT_FAILED = ExitCode.FAILED
EXIT_REFUSED = ExitCode.REFUSED


@dataclass
class GlobalOptions:
    """Options of `billing` itself (before the noun)."""

    debug: bool = False


options = GlobalOptions()


@app.callback()
def _global_options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Print the traceback of an unexpected error (also BILLING_DEBUG=1).",
        ),
    ] = False,
) -> None:
    options.debug = debug


def print_error(message: str, *, label: str = "error") -> None:
    """One line on stderr, never re-wrapped: 'error: what happened; what to do'."""
    error_console.print(
        Text.assemble((f"{label}: ", "bold red"), message), soft_wrap=True, highlight=False
    )


def print_note(message: str) -> None:
    """One informational line on stderr (deprecations, hints)."""
    error_console.print(Text(message, style="yellow"), soft_wrap=True, highlight=False)
