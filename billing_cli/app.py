"""The typer application, the shared console and the one place errors become messages."""

from __future__ import annotations

import typer
from rich.console import Console

from billing.errors import BillingError

app = typer.Typer(
    name="billing",
    help="Usage-based billing: land charge events, price them, close months, issue invoices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
error_console = Console(stderr=True)

EXIT_FAILED = 1
EXIT_REFUSED = 2


def run_command(application: typer.Typer) -> int:
    """Run the CLI; a BillingError becomes a red message and exit code 1."""
    try:
        # Without standalone mode, click returns a command's `raise typer.Exit(code)` as the
        # return value instead of raising it.
        outcome = application(standalone_mode=False)
    except BillingError as error:
        error_console.print(f"[bold red]error:[/] {error}")
        return EXIT_FAILED
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        error_console.print("aborted")
        return EXIT_FAILED
    except Exception as error:
        import click

        # Usage errors: recent typer (0.29 here) raises its vendored click's exceptions.
        if isinstance(error, click.ClickException | typer.TyperException) and hasattr(
            error, "show"
        ):
            error.show()
            return int(getattr(error, "exit_code", EXIT_REFUSED))
        raise
    return outcome if isinstance(outcome, int) else 0
