"""Reference CSV imports: all or nothing, idempotent, refusals that point at the cell."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from finance.reference import ImportRefusedError, import_accounts, import_tiers

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
HEADER = "tenant_id,name,currency,billing_email,activated_on,deactivated_on\n"
GOOD = "0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33,Acme,EUR,billing@acme.example,2026-01-01,\n"
OTHER = "1c9e2d3f-4a5b-4c6d-8e7f-901a2b3c4d5e,Beta,USD,ap@beta.example,2026-02-01,2026-12-01\n"
TIERS_HEADER = "tenant_id,account_tier,effective_from\n"


def _count(conn: psycopg.Connection[tuple[object, ...]], table: str) -> int:
    row = conn.execute(f"select count(*) from {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_sample_files_import_and_reimport_changes_nothing(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        first = import_accounts(conn, SAMPLES / "accounts.csv")
        tiers = import_tiers(conn, SAMPLES / "account_tiers.csv")
        assert (first.rows, first.inserted, first.updated) == (50, 50, 0)
        assert (tiers.rows, tiers.inserted) == (51, 51)
        stamps = conn.execute(
            "select tenant_id, updated_at from ref.accounts order by tenant_id"
        ).fetchall()
        again = import_accounts(conn, SAMPLES / "accounts.csv")
        tiers_again = import_tiers(conn, SAMPLES / "account_tiers.csv")
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 50)
        assert (tiers_again.inserted, tiers_again.updated, tiers_again.unchanged) == (0, 0, 51)
        assert (
            conn.execute(
                "select tenant_id, updated_at from ref.accounts order by tenant_id"
            ).fetchall()
            == stamps
        )


def test_a_changed_row_is_updated_with_audit_columns(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(HEADER + GOOD + OTHER)
    with psycopg.connect(database_url) as conn:
        import_accounts(conn, path)
        conn.commit()
        before = conn.execute("select updated_at from ref.accounts where name = 'Acme'").fetchone()
        path.write_text(HEADER + GOOD.replace("Acme,EUR", "Acme Ltd,GBP") + OTHER)
        report = import_accounts(conn, path)
        assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
        name, currency, updated_at, updated_by = (
            conn.execute(
                "select name, currency, updated_at, updated_by from ref.accounts "
                "where tenant_id = '0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33'"
            ).fetchone()
            or ()
        )
        assert (name, currency) == ("Acme Ltd", "GBP")
        assert before is not None
        assert updated_at > before[0]
        assert updated_by == conn.info.user


@pytest.mark.parametrize(
    ("content", "where", "reason"),
    [
        (
            HEADER + GOOD + "not-a-uuid,B,EUR,b@b.example,2026-01-01,\n",
            "line 3, column tenant_id",
            "not a UUID",
        ),
        (
            HEADER + GOOD + OTHER.replace("2026-02-01", "2026-02-30"),
            "line 3, column activated_on",
            "not a date",
        ),
        (
            HEADER + OTHER.replace("2026-02-01", "01/02/2026"),
            "line 2, column activated_on",
            "not a date",
        ),
        (HEADER + GOOD.replace("EUR", "eur"), "line 2, column currency", "ISO 4217"),
        (HEADER + GOOD.replace("EUR", "EURO"), "line 2, column currency", "longer than 3"),
        (
            HEADER + GOOD.replace("billing@acme.example", "nobody"),
            "line 2, column billing_email",
            "e-mail",
        ),
        (HEADER + GOOD.replace(",Acme,", ",,"), "line 2, column name", "is empty"),
        (
            HEADER + OTHER.replace("2026-12-01", "2026-02-01"),
            "line 2, column deactivated_on",
            "not after",
        ),
        (HEADER + GOOD + OTHER + GOOD, "line 4, column tenant_id", "duplicate key"),
        (HEADER + GOOD + "a,b,c\n", "line 3", "has 3 fields"),
        (HEADER.replace("currency", "ccy") + GOOD, "line 1", "missing currency"),
    ],
)
def test_a_bad_account_row_refuses_the_whole_file(
    database_url: str, tmp_path: Path, content: str, where: str, reason: str
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(content)
    with psycopg.connect(database_url) as conn:
        with pytest.raises(ImportRefusedError) as refused:
            import_accounts(conn, path)
        assert where in str(refused.value)
        assert reason in str(refused.value)
        assert "nothing imported" in str(refused.value)
        assert _count(conn, "ref.accounts") == 0


@pytest.mark.parametrize(
    ("content", "where", "reason"),
    [
        (
            TIERS_HEADER + "1c9e2d3f-4a5b-4c6d-8e7f-901a2b3c4d5e,gold,2026-01-01\n",
            "line 2, column tenant_id",
            "no account",
        ),
        (
            TIERS_HEADER + "0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33,Gold Plus,2026-01-01\n",
            "line 2, column account_tier",
            "tier name",
        ),
        (
            TIERS_HEADER + "0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33,gold,2026-1-1\n",
            "line 2, column effective_from",
            "not a date",
        ),
        (
            TIERS_HEADER
            + "0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33,gold,2026-01-01\n"
            + "0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33,silver,2026-01-01\n",
            "line 3, column tenant_id, effective_from",
            "already on line 2",
        ),
    ],
)
def test_a_bad_tier_row_refuses_the_whole_file(
    database_url: str, tmp_path: Path, content: str, where: str, reason: str
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(HEADER + GOOD)
    path = tmp_path / "tiers.csv"
    path.write_text(content)
    with psycopg.connect(database_url) as conn:
        import_accounts(conn, accounts)
        conn.commit()
        with pytest.raises(ImportRefusedError) as refused:
            import_tiers(conn, path)
        assert where in str(refused.value)
        assert reason in str(refused.value)
        assert _count(conn, "ref.account_tiers") == 0


def test_every_problem_of_a_file_is_listed_at_once(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    shutil.copy(SAMPLES / "accounts.csv", path)
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = (
        lines[3].replace(",USD,", ",usd,").replace(",GBP,", ",gbp,").replace(",EUR,", ",eur,")
    )
    lines[10] = "x" + lines[10]
    path.write_text("".join(lines))
    with psycopg.connect(database_url) as conn:
        with pytest.raises(ImportRefusedError) as refused:
            import_accounts(conn, path)
        message = str(refused.value)
        assert "2 problem(s)" in message
        assert "line 4, column currency" in message
        assert "line 11, column tenant_id" in message
        assert _count(conn, "ref.accounts") == 0


FULL_HEADER = HEADER.replace("\n", ",address,country,tax_id,payment_terms_days\n")
FULL = GOOD.replace("\n", ',"Hafenstraße 12\n20457 Hamburg",DE,DE123456789,45\n')


@pytest.mark.parametrize(
    ("content", "where", "reason"),
    [
        (FULL_HEADER + FULL.replace(",DE,", ",UK,"), "line 2, column country", "ISO 3166-1"),
        (FULL_HEADER + FULL.replace(",DE,", ",DEU,"), "line 2, column country", "ISO 3166-1"),
        (
            FULL_HEADER + FULL.replace("DE123456789", "DE#1234"),
            "line 2, column tax_id",
            "not a tax id",
        ),
        (FULL_HEADER + FULL.replace("DE123456789", "ABCDEF"), "line 2, column tax_id", "digits"),
        (
            FULL_HEADER + FULL.replace(",45\n", ",thirty\n"),
            "line 2, column payment_terms_days",
            "days",
        ),
        (FULL_HEADER + FULL.replace(",45\n", ",400\n"), "line 2, column payment_terms_days", "365"),
        (
            FULL_HEADER + FULL.replace("20457 Hamburg", "\n".join("abcdefg")),
            "line 2, column address",
            "at most 6",
        ),
        (HEADER.replace("\n", ",vat\n") + GOOD.replace("\n", ",x\n"), "line 1", "unknown vat"),
    ],
)
def test_a_bad_optional_account_field_refuses_the_whole_file(
    database_url: str, tmp_path: Path, content: str, where: str, reason: str
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(content)
    with psycopg.connect(database_url) as conn:
        with pytest.raises(ImportRefusedError) as refused:
            import_accounts(conn, path)
        assert where in str(refused.value)
        assert reason in str(refused.value)
        assert _count(conn, "ref.accounts") == 0


def test_optional_fields_import_and_every_change_keeps_its_history(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(FULL_HEADER + FULL.replace(",DE,", ",de,"))
    with psycopg.connect(database_url) as conn:
        import_accounts(conn, path)
        conn.commit()
        tenant = "0b7c6f5e-1d2a-4e3b-8c9d-aa11bb22cc33"
        account = "select address, country, tax_id, payment_terms_days from ref.accounts"
        assert conn.execute(account).fetchall() == [
            ("Hafenstraße 12\n20457 Hamburg", "DE", "DE123456789", 45)
        ]
        # A file without the optional columns changes the name and leaves them as they are;
        # a file of another account alone gets the default terms.
        path.write_text(HEADER + GOOD.replace(",Acme,", ",Acme Holding,"))
        report = import_accounts(conn, path)
        assert report.updated == 1
        assert conn.execute(account).fetchall() == [
            ("Hafenstraße 12\n20457 Hamburg", "DE", "DE123456789", 45)
        ]
        path.write_text(HEADER + OTHER)
        import_accounts(conn, path)
        assert conn.execute(
            "select payment_terms_days from ref.accounts where name = 'Beta'"
        ).fetchone() == (30,)
        # Who, when, old -> new: the first import (old null), then only what changed.
        changes = conn.execute(
            "select column_name, old_value, new_value, changed_by from ref.account_changes"
            " where tenant_id = %s order by change_id",
            (tenant,),
        ).fetchall()
        user = conn.info.user
        assert ("name", None, "Acme", user) in changes
        assert ("country", None, "DE", user) in changes
        assert changes[-1] == ("name", "Acme", "Acme Holding", user)
        assert len([change for change in changes if change[1] is not None]) == 1
        stamp = conn.execute(
            "select bool_and(changed_at <= now()) from ref.account_changes"
        ).fetchone()
        assert stamp == (True,)
