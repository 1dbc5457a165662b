"""The one place where a failure becomes a message and an exit code.

A command raises; this prints one line on stderr that says what happened and what to do, and
returns the exit code (app.ExitCode): BillingError (and the database and NATS errors a user
can cause) as themselves, usage errors as click words them, anything else as one line plus
the file that holds its traceback (printed too with `billing --debug` or BILLING_DEBUG=1).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import nats.errors
import psycopg
import typer

from billing.db import explain_database_error
from billing.errors import BillingError, RefusedError
from billing.settings import PROJECT_ROOT, load_settings
from billing_cli.app import ExitCode, app, error_console, options, print_error, print_note

# The spellings of the first release, kept for one release (a note on stderr says the new one).
DEPRECATED = {
    "up": ("services", "up"),
    "down": ("services", "down"),
    "status": ("services", "status"),
    "migrate": ("db", "migrate"),
    "load": ("events", "load"),
    "publish": ("events", "publish"),
    "publish-sample": ("events", "publish-sample"),
}

ERROR_LOG = Path("logs") / "cli-errors.log"


def current_spelling(arguments: Sequence[str]) -> list[str]:
    """`billing up ...` -> `billing services up ...` (with a deprecation note)."""
    arguments = list(arguments)
    for index, argument in enumerate(arguments):
        if argument.startswith("-"):
            continue  # a global option such as --debug
        if argument in DEPRECATED:
            new = DEPRECATED[argument]
            print_note(
                f"note: `billing {argument}` is deprecated and goes away in the next release; "
                f"use `billing {' '.join(new)}`"
            )
            arguments[index : index + 1] = new
        break
    return arguments


def _usage_hint(error: typer.TyperException) -> str:
    context = getattr(error, "ctx", None)
    if context is None:
        return "see `billing --help`"
    return f"see `{context.command_path} --help`"


def _debug() -> bool:
    if options.debug:
        return True
    try:
        return load_settings().debug
    except BillingError:
        return False


def _error_log() -> Path:
    try:
        state_dir = load_settings().state_dir
    except BillingError:
        state_dir = PROJECT_ROOT / ".billing"
    return state_dir / ERROR_LOG


def _unexpected(error: BaseException, arguments: Sequence[str]) -> int:
    """One line, the traceback in the log file (and on stderr with --debug)."""
    text = "".join(traceback.format_exception(error))
    log = _error_log()
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as file:
            file.write(
                f"--- {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} billing {' '.join(arguments)}\n"
            )
            file.write(text)
        where = f"the traceback is in {log}"
    except OSError:
        where = "its traceback could not be written to a log (run with --debug to see it)"
    if _debug():
        error_console.print(text, markup=False, highlight=False, end="")
    reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
    print_error(
        f"unexpected failure ({type(error).__name__}{': ' + reason if reason else ''}); "
        f"{where}; run again with `billing --debug` to print it, and report it if it persists"
    )
    return ExitCode.FAILED


def _nats_unreachable(error: Exception) -> str:
    reason = str(error).strip() or type(error).__name__
    return (
        f"NATS is unreachable ({reason}): start it (`billing services up`) or fix BILLING_NATS_URL"
    )


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with `argv` (default: sys.argv[1:]); the exit code."""
    arguments = current_spelling(sys.argv[1:] if argv is None else argv)
    try:
        # Without standalone mode click returns an exit code instead of calling sys.exit, and
        # raises its usage errors here instead of printing them.
        outcome = app(args=arguments, prog_name="billing", standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print_error("interrupted", label="stopped")
        return ExitCode.INTERRUPTED
    except RefusedError as error:
        print_error(str(error), label="refused")
        return ExitCode.REFUSED
    except BillingError as error:
        print_error(str(error))
        return ExitCode.FAILED
    except typer.TyperException as error:
        if type(error).__name__ == "NoArgsIsHelpError":
            getattr(error, "show", print)()  # `billing invoices` alone: its help
            return ExitCode.REFUSED
        message = error.format_message().strip().replace("\n", " ")
        print_error(f"{message} ({_usage_hint(error)})", label="usage")
        return int(getattr(error, "exit_code", ExitCode.REFUSED)) or ExitCode.REFUSED
    except psycopg.Error as error:
        explained = explain_database_error(error)
        if explained is None:
            return _unexpected(error, arguments)
        refused = isinstance(explained, RefusedError)
        print_error(str(explained), label="refused" if refused else "error")
        return ExitCode.REFUSED if refused else ExitCode.FAILED
    except (nats.errors.NoServersError, nats.errors.ConnectionClosedError) as error:
        print_error(_nats_unreachable(error))
        return ExitCode.FAILED
    except Exception as error:
        return _unexpected(error, arguments)
    code = outcome if isinstance(outcome, int) else ExitCode.OK
    if code == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into this exit code
        print_error("interrupted", label="stopped")
    return code
