"""The `billing` command line: nouns then verbs, errors that say what to do next.

This package is the one place that wires the components together (ARCHITECTURE.md,
dependency rule): each command module imports what it drives.
"""

from __future__ import annotations

import sys

from billing_cli.app import app, run_command

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `billing` script."""
    # Command modules register themselves on import.
    from billing_cli import (
        close,  # noqa: F401
        documents,  # noqa: F401
        ingest,  # noqa: F401
        invoices,  # noqa: F401
        reference,  # noqa: F401
        services,  # noqa: F401
    )

    sys.exit(run_command(app))
