"""Every failure a user can cause: one line saying what happened and what to do, an exit code
that means something (1 failed, 2 refused or wrong usage), never a traceback.

Each runs the real `billing` command, with only the BILLING_* variables it sets. The messages
asserted here are the ones the docs and the issue's closing note quote.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from billing import db, localservices
from tests.support.cli import billing, one_line

UNREACHABLE_DATABASE = "postgresql://billing@127.0.0.1:1/billing"


@pytest.fixture
def state_dir(tmp_path: Path) -> str:
    """A state directory with no embedded services in it."""
    return str(tmp_path / "state")


@pytest.fixture
def closed_nats_url() -> str:
    """A loopback port nothing listens on."""
    return f"nats://127.0.0.1:{localservices.free_port()}"


@pytest.fixture
def accounts_csv(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "tenant_id,name,currency,billing_email,activated_on,deactivated_on\n"
        "0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33,Northwind,EUR,billing@northwind.example,"
        "2026-01-01,\n"
    )
    return path


def test_database_unreachable(accounts_csv: Path, state_dir: str) -> None:
    done = billing(
        "accounts",
        "import",
        str(accounts_csv),
        BILLING_DATABASE_URL=UNREACHABLE_DATABASE,
        BILLING_STATE_DIR=state_dir,
    )
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        'error: cannot connect to PostgreSQL (server at "127.0.0.1", port 1): Connection '
        "refused; start it (`billing services up`) or fix BILLING_DATABASE_URL"
    )


def test_no_database_configured_and_none_running(state_dir: str) -> None:
    done = billing("invoices", "list", BILLING_STATE_DIR=state_dir)
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        "error: BILLING_DATABASE_URL is not set and the embedded services are not running: "
        "run `billing services up` first (or set BILLING_DATABASE_URL)"
    )


@pytest.fixture
def password_login(server_url: str, database_url: str) -> Iterator[tuple[str, str]]:
    """A login that must give its password (scram-sha-256 for it alone in pg_hba.conf)."""
    name = f"login_pw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        hba = Path(str(conn.execute("show hba_file").fetchone()[0]))  # type: ignore[index]
        if not hba.exists():
            pytest.skip("the test server's pg_hba.conf is not on this machine")
        original = hba.read_text()
        conn.execute(
            sql.SQL("create role {} login password 'right-password'").format(sql.Identifier(name))
        )
        rules = f"local all {name} scram-sha-256\nhost all {name} all scram-sha-256\n"
        hba.write_text(rules + original)
        conn.execute("select pg_reload_conf()")
    time.sleep(0.2)  # the postmaster re-reads the file on SIGHUP
    try:
        yield name, database_url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            hba.write_text(original)
            conn.execute("select pg_reload_conf()")
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


def test_wrong_password(password_login: tuple[str, str], state_dir: str) -> None:
    name, database_url = password_login
    parts = urlsplit(database_url)
    host = parts.netloc.split("@")[-1]
    wrong = parts._replace(netloc=f"{name}:wrong-password@{host}").geturl()
    done = billing("invoices", "list", BILLING_DATABASE_URL=wrong, BILLING_STATE_DIR=state_dir)
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith("error: PostgreSQL (server on socket ")
    assert line.endswith(
        f'refused the login: password authentication failed for user "{name}"; check the '
        "user and password in BILLING_DATABASE_URL"
    )

    right = parts._replace(netloc=f"{name}:right-password@{host}").geturl()
    refused = billing("invoices", "list", BILLING_DATABASE_URL=right, BILLING_STATE_DIR=state_dir)
    assert refused.returncode == 2  # logged in, but not allowed
    assert one_line(refused.stderr) == (
        "refused: the database refused this login: permission denied for schema billing; "
        "connect with a login that has the right (BILLING_DATABASE_URL)"
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("grant billing_finance to {}").format(sql.Identifier(name)))
    allowed = billing("invoices", "list", BILLING_DATABASE_URL=right, BILLING_STATE_DIR=state_dir)
    assert allowed.returncode == 0, allowed.stderr


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    """A real database that was never migrated."""
    name = f"never_migrated_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    yield db.with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def test_a_database_that_was_never_migrated(
    empty_database: str, accounts_csv: Path, state_dir: str
) -> None:
    env = {"BILLING_DATABASE_URL": empty_database, "BILLING_STATE_DIR": state_dir}
    imported = billing("accounts", "import", str(accounts_csv), **env)
    assert imported.returncode == 1
    assert one_line(imported.stderr) == (
        'error: the database is not migrated (schema "ref" does not exist): run '
        "`billing db migrate`, then try again"
    )
    listed = billing("invoices", "list", **env)
    assert listed.returncode == 1
    assert "run `billing db migrate`" in one_line(listed.stderr)

    assert billing("db", "migrate", **env).returncode == 0  # what the message says to do
    again = billing("accounts", "import", str(accounts_csv), **env)
    assert again.returncode == 0, again.stderr
    assert "1 inserted" in again.stdout


def test_publish_with_nats_unreachable(closed_nats_url: str, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"event_id": "e-1"}\n')
    started = time.monotonic()
    done = billing(
        "events",
        "publish",
        str(events),
        BILLING_NATS_URL=closed_nats_url,
        BILLING_STATE_DIR=str(tmp_path),
    )
    assert time.monotonic() - started < 20
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        f"error: cannot connect to NATS at {closed_nats_url} (nats: no servers available for "
        "connection): start it (`billing services up`) or fix BILLING_NATS_URL"
    )


def test_load_until_idle_with_nats_unreachable_gives_up(
    database_url: str, closed_nats_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    done = billing(
        "events",
        "load",
        "--until-idle",
        "--metrics-port",
        "0",
        BILLING_DATABASE_URL=database_url,
        BILLING_NATS_URL=closed_nats_url,
        BILLING_STATE_DIR=str(tmp_path),
        timeout=60,
    )
    assert time.monotonic() - started < 30  # bounded, not forever
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith(f"error: cannot connect to NATS at {closed_nats_url} (")
    assert line.endswith("check BILLING_NATS_URL (or run `billing services up`)")


def test_close_with_nats_unreachable(
    database_url: str, closed_nats_url: str, tmp_path: Path
) -> None:
    done = billing(
        "close",
        "--month",
        "2026-10",
        BILLING_DATABASE_URL=database_url,
        BILLING_NATS_URL=closed_nats_url,
        BILLING_STATE_DIR=str(tmp_path),
    )
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith(
        f"error: cannot reach NATS at {closed_nats_url} to check that the loader caught up"
    )
    assert line.endswith("start it (`billing services up`) or set BILLING_NATS_URL")


def test_a_csv_field_over_the_csv_modules_limit(
    database_url: str, tmp_path: Path, state_dir: str
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "tenant_id,name,currency,billing_email,activated_on,deactivated_on\n"
        f'0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33,"{"x" * 200_000}",EUR,a@b.example,2026-01-01,\n'
    )
    done = billing(
        "accounts",
        "import",
        str(path),
        BILLING_DATABASE_URL=database_url,
        BILLING_STATE_DIR=state_dir,
    )
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        f"refused: {path} line 2: not a readable CSV row: a field is longer than 131,072 "
        "characters (an unclosed quote?); nothing imported"
    )


def test_a_nul_byte_in_a_csv(database_url: str, tmp_path: Path, state_dir: str) -> None:
    path = tmp_path / "account_tiers.csv"
    path.write_text(
        "tenant_id,account_tier,effective_from\n"
        "0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33,star\0ter,2026-01-01\n"
    )
    done = billing(
        "tiers",
        "import",
        str(path),
        BILLING_DATABASE_URL=database_url,
        BILLING_STATE_DIR=state_dir,
    )
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        f"refused: {path} line 2: contains a NUL byte, which no column may hold (a binary "
        "file, or not saved as UTF-8 CSV?); nothing imported"
    )


def test_an_unbindable_metrics_host(tmp_path: Path) -> None:
    done = billing(
        "events",
        "load",
        "--metrics-host",
        "192.0.2.1",  # TEST-NET-1: no address of this machine (nothing is sent to it)
        "--metrics-port",
        "0",
        BILLING_DATABASE_URL=UNREACHABLE_DATABASE,
        BILLING_NATS_URL="nats://127.0.0.1:1",
        BILLING_STATE_DIR=str(tmp_path),
    )
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        "refused: cannot serve metrics on 192.0.2.1:0 (Cannot assign requested address): "
        "choose another --metrics-host (an address of this machine) or --metrics-port"
    )


@pytest.mark.parametrize(
    ("port", "why"),
    [("70000", "less than or equal to 65535"), ("-1", "greater than or equal to 0")],
)
def test_a_metrics_port_out_of_range(port: str, why: str, tmp_path: Path) -> None:
    done = billing("events", "load", "--metrics-port", port, BILLING_STATE_DIR=str(tmp_path))
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        f"usage: Invalid value for '--metrics-port': Input should be {why} "
        "(see `billing events load --help`)"
    )


@pytest.mark.parametrize(
    "command",
    [
        ("close", "--month", "2026-13"),
        ("invoices", "list", "--month", "10-2026"),
        ("invoices", "render", "--month", "2026-1"),
        ("events", "publish-sample", "--month", "October"),
        ("sample", "reference", "--out", "x", "--month", "2026-00"),
    ],
)
def test_a_month_that_is_not_yyyy_mm(command: tuple[str, ...], tmp_path: Path) -> None:
    done = billing(*command, BILLING_STATE_DIR=str(tmp_path))
    assert done.returncode == 2
    bad = command[-1]
    path = " ".join(command[: 2 if command[0] != "close" else 1])
    assert one_line(done.stderr) == (
        f"usage: Invalid value for '--month': '{bad}' is not a month: use YYYY-MM, e.g. "
        f"2026-10 (see `billing {path} --help`)"
    )


def test_an_invalid_setting(tmp_path: Path) -> None:
    done = billing(
        "invoices",
        "list",
        BILLING_CLOSE_WAIT_SECONDS="abc",
        BILLING_STATE_DIR=str(tmp_path),
    )
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        "refused: invalid setting: BILLING_CLOSE_WAIT_SECONDS='abc': input should be a valid "
        "number, unable to parse string as a number; fix the variable and try again"
    )


def test_commands_that_need_no_nats_do_not_ask_for_it(
    database_url: str, accounts_csv: Path, state_dir: str
) -> None:
    env = {"BILLING_DATABASE_URL": database_url, "BILLING_STATE_DIR": state_dir}
    imported = billing("accounts", "import", str(accounts_csv), **env)
    assert imported.returncode == 0, imported.stderr
    listed = billing("invoices", "list", **env)
    assert listed.returncode == 0, listed.stderr
    assert billing("db", "migrate", **env).returncode == 0
    needs_nats = billing("invoices", "publish", **env)
    assert needs_nats.returncode == 1
    assert "BILLING_NATS_URL is not set" in one_line(needs_nats.stderr)


def test_an_unknown_command_or_option(tmp_path: Path) -> None:
    unknown = billing("invoice", "list", BILLING_STATE_DIR=str(tmp_path))
    assert unknown.returncode == 2
    assert one_line(unknown.stderr).startswith("usage: No such command 'invoice'.")
    option = billing("invoices", "list", "--monht", "2026-10", BILLING_STATE_DIR=str(tmp_path))
    assert option.returncode == 2
    assert "No such option: --monht" in one_line(option.stderr)
