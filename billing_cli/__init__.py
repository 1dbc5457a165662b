"""The `billing` command line: the composition root, nouns then verbs.

The only package that imports every component (docs/architecture.md: why it is called
billing_cli). One module per noun; commands parse, call a component and print. Failures
become one line and an exit code in one place, `billing_cli.edge.run`.
"""

from __future__ import annotations

import sys

from billing_cli.app import app

__all__ = ["app", "main"]


def load_commands() -> None:
    """Import the command modules: each registers its noun on the app."""
    from billing_cli import (  # noqa: F401
        accounts,
        close,
        database,
        docs,
        events,
        exclusions,
        explain,
        exporter,
        invoices,
        ledger,
        margins,
        preview,
        sample,
        services,
        tiers,
        ui,
        verify,
        whatif,
    )


def main() -> None:
    """Entry point of the `billing` script."""
    from billing_cli.edge import run

    load_commands()
    sys.exit(run())
