"""billing_cli.edge: the one place where failures become a line and an exit code (in process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import nats.errors
import psycopg
import pytest

import billing_cli
from billing.errors import BillingError, RefusedError
from billing_cli.app import ExitCode, app, options
from billing_cli.edge import current_spelling, run


@pytest.fixture
def command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[BaseException], None]]:
    """Register a hidden command `boom` that raises the given exception."""
    billing_cli.load_commands()
    monkeypatch.setenv("BILLING_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("BILLING_DEBUG", raising=False)
    raised: list[BaseException] = []

    @app.command("boom", hidden=True)
    def boom() -> None:
        raise raised[-1]

    yield raised.append
    app.registered_commands.pop()
    options.debug = False


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_the_log(
    command: Callable[[BaseException], None],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    command(RuntimeError("the disk is on fire"))
    assert run(["boom"]) == ExitCode.FAILED
    [line] = lines(capsys.readouterr().err)
    log = tmp_path / "logs" / "cli-errors.log"
    assert line == (
        "error: unexpected failure (RuntimeError: the disk is on fire); the traceback is in "
        f"{log}; run again with `billing --debug` to print it, and report it if it persists"
    )
    logged = log.read_text()
    assert "billing boom" in logged
    assert "Traceback (most recent call last)" in logged
    assert "raise raised[-1]" in logged


@pytest.mark.parametrize("how", ["--debug", "BILLING_DEBUG"])
def test_debug_prints_the_traceback_too(
    how: str,
    command: Callable[[BaseException], None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    command(KeyError("missing"))
    if how == "BILLING_DEBUG":
        monkeypatch.setenv("BILLING_DEBUG", "1")
    assert run(["--debug", "boom"] if how == "--debug" else ["boom"]) == ExitCode.FAILED
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert lines(err)[-1].startswith("error: unexpected failure (KeyError: 'missing')")


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (BillingError("it failed: do this"), ExitCode.FAILED, "error: it failed: do this"),
        (RefusedError("not like that"), ExitCode.REFUSED, "refused: not like that"),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "stopped: interrupted"),
        (
            nats.errors.NoServersError(),
            ExitCode.FAILED,
            "error: NATS is unreachable (nats: no servers available for connection): start it "
            "(`billing services up`) or fix BILLING_NATS_URL",
        ),
        (
            psycopg.OperationalError("server closed the connection unexpectedly"),
            ExitCode.FAILED,
            "error: PostgreSQL failed during the command: server closed the connection "
            "unexpectedly; check the server and try again",
        ),
    ],
)
def test_known_failures_are_one_line_with_their_exit_code(
    error: BaseException,
    code: int,
    line: str,
    command: Callable[[BaseException], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    command(error)
    assert run(["boom"]) == code
    assert lines(capsys.readouterr().err) == [line]


def test_a_database_error_that_is_a_bug_is_unexpected(
    command: Callable[[BaseException], None], capsys: pytest.CaptureFixture[str]
) -> None:
    command(psycopg.errors.DivisionByZero("division by zero"))
    assert run(["boom"]) == ExitCode.FAILED
    assert lines(capsys.readouterr().err)[0].startswith(
        "error: unexpected failure (DivisionByZero: division by zero)"
    )


def test_a_noun_alone_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    billing_cli.load_commands()
    assert run(["invoices"]) == ExitCode.REFUSED
    assert "list" in capsys.readouterr().out


def test_old_spellings_become_the_new_ones_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    assert current_spelling(["--debug", "up"]) == ["--debug", "services", "up"]
    assert current_spelling(["publish-sample", "--month", "2026-10"]) == [
        "events",
        "publish-sample",
        "--month",
        "2026-10",
    ]
    assert current_spelling(["invoices", "list"]) == ["invoices", "list"]
    assert current_spelling([]) == []
    notes = lines(capsys.readouterr().err)
    assert notes == [
        "note: `billing up` is deprecated and goes away in the next release; use "
        "`billing services up`",
        "note: `billing publish-sample` is deprecated and goes away in the next release; use "
        "`billing events publish-sample`",
    ]


def test_an_exit_code_raised_by_a_command_is_kept(
    command: Callable[[BaseException], None], capsys: pytest.CaptureFixture[str]
) -> None:
    import typer

    command(typer.Exit(3))
    assert run(["boom"]) == 3
    command(typer.BadParameter("--workers must be a number"))
    assert run(["boom"]) == ExitCode.REFUSED
    command(typer.TyperException("typer refused it"))  # no click context: the top help
    assert run(["boom"]) == ExitCode.FAILED
    assert lines(capsys.readouterr().err) == [
        "usage: Invalid value: --workers must be a number (see `billing boom --help`)",
        "usage: typer refused it (see `billing --help`)",
    ]


def test_with_invalid_settings_the_log_goes_to_the_project_state_folder(
    command: Callable[[BaseException], None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import billing_cli.edge

    monkeypatch.setattr(billing_cli.edge, "PROJECT_ROOT", tmp_path / "project")
    monkeypatch.setenv("BILLING_DEBUG", "not-a-boolean")  # settings cannot load: no debug
    command(ValueError("odd"))
    assert run(["boom"]) == ExitCode.FAILED
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"the traceback is in {tmp_path / 'project' / '.billing' / 'logs'}" in err


def test_a_log_that_cannot_be_written_is_said_so(
    command: Callable[[BaseException], None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setenv("BILLING_STATE_DIR", str(not_a_folder))
    command(ValueError("odd"))
    assert run(["boom"]) == ExitCode.FAILED
    [line] = lines(capsys.readouterr().err)
    assert "its traceback could not be written to a log (run with --debug to see it)" in line
