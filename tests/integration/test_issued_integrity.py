"""The database protects issued money by itself (issue 18, section 3).

Each break found by trying the database as an attacker would is tried again here, through the
role that could do it then: the transformer (SET ROLE, as dbt connects), real Finance and
renderer logins, a superuser, the owner. The history they attack (an invoice issued last
month) is forged once per test, in replica mode, as only a superuser can; the legitimate
path (a close issuing, voiding and replacing) is what test_invoicing and test_voids run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import errors

from tests.conftest import LoginFactory
from tests.support.billing_data import add_account
from tests.support.cli import billing, one_line
from tests.support.forge import forged_history

TENANT = uuid.UUID("a1000000-0000-4000-8000-00000000000a")
OTHER = uuid.UUID("b1000000-0000-4000-8000-00000000000b")
FIRST = "INV-202610-000001"
SECOND = "INV-202610-000002"
EVENT = uuid.UUID("e1000000-0000-4000-8000-000000000001")

ISSUED_TABLES = (
    "issued_invoices",
    "issued_invoice_lines",
    "issued_invoice_events",
    "invoice_voids",
    "void_resolutions",
    "period_closes",
    "invoice_documents",
    "invoice_outbox",
)


def rows(database_url: str, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, parameters).fetchall()


def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the issued tables, to show a refused attempt changed nothing."""
    return {
        table: rows(database_url, f"select * from billing.{table} order by 1, 2")
        for table in ISSUED_TABLES
    }


def invoice_values(number: str, seq: int, tenant: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "invoice_number": number,
        "period": f"{number[4:8]}-{number[8:10]}",
        "seq": seq,
        "tenant_id": tenant,
        "currency": "EUR",
        "subtotal": 10,
        "total": 10,
        "line_count": 1,
        "issued_at": datetime(2026, 11, 1, 3, 5, tzinfo=UTC),
        "replaces_invoice_number": None,
    }
    return {**values, **overrides}


def line_values(
    number: str, line_number: int, tenant: uuid.UUID, **overrides: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "invoice_number": number,
        "line_number": line_number,
        "tenant_id": tenant,
        "line_type": "usage",
        "description": "SMS outbound sfr_fr",
        "usage_period": "2026-10",
        "operator_id": "sfr_fr",
        "direction": "outbound",
        "account_tier": "starter",
        "rule_id": "starter.sfr_fr.outbound.EUR.v1",
        "quantity": 100,
        "unit_price": "0.1",
        "amount": 10,
    }
    return {**values, **overrides}


def insert(conn: psycopg.Connection[Any], table: str, values: dict[str, Any]) -> None:
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    conn.execute(
        f"insert into billing.{table} ({columns}) values ({marks})",
        tuple(values.values()),
    )


@pytest.fixture
def issued(database_url: str) -> str:
    """October issued a month ago: INV-202610-000001 (TENANT, one line, one event) and
    INV-202610-000002 (OTHER); the close recorded. Returns the database URL."""
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT)
        add_account(conn, OTHER)
        with forged_history(conn):
            insert(conn, "issued_invoices", invoice_values(FIRST, 1, TENANT))
            insert(conn, "issued_invoice_lines", line_values(FIRST, 1, TENANT))
            insert(
                conn,
                "issued_invoice_events",
                {"event_id": EVENT, "invoice_number": FIRST, "line_number": 1, "tenant_id": TENANT},
            )
            insert(conn, "issued_invoices", invoice_values(SECOND, 2, OTHER))
            insert(conn, "issued_invoice_lines", line_values(SECOND, 1, OTHER))
            conn.execute(
                "insert into billing.period_closes (period, kind, closed_at, invoice_count,"
                " event_count) values ('2026-10', 'close', '2026-11-01T03:05:00Z', 2, 1)"
            )
    return database_url


@contextmanager
def as_transformer(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A transaction as the transformer (dbt's role), rolled back at the end."""
    with psycopg.connect(database_url) as conn:
        conn.execute("set role billing_transformer")
        yield conn
        conn.rollback()


def commit_as_transformer(database_url: str, *statements: tuple[str, dict[str, Any]]) -> None:
    with as_transformer(database_url) as conn:
        for table, values in statements:
            insert(conn, table, values)
        conn.commit()


def refused_as_transformer(database_url: str, *statements: tuple[str, dict[str, Any]]) -> str:
    """Run the inserts as the transformer, then commit; returns the database's refusal."""
    before = snapshot(database_url)
    with pytest.raises(psycopg.Error) as refusal:
        commit_as_transformer(database_url, *statements)
    assert snapshot(database_url) == before
    return str(refusal.value)


def close_row_with_the_issue_lock(database_url: str, kind: str, invoice_count: int) -> None:
    """A period_closes row for 2026-09 in a transaction holding the period's issue lock."""
    with as_transformer(database_url) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('billing.issue_invoices'), 202609)")
        conn.execute(
            "insert into billing.period_closes (period, kind, closed_at, invoice_count,"
            " event_count) values ('2026-09', %s, now(), %s, 7)",
            (kind, invoice_count),
        )


def now_values(number: str, seq: int, tenant: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    """An invoice as the issue step would write it now (issued_at is the transaction's)."""
    return invoice_values(number, seq, tenant, **{"issued_at": "now", **overrides})


# --- What the transformer could insert -------------------------------------------------------


def test_a_replacement_of_an_invoice_that_is_not_void_is_refused(issued: str) -> None:
    third = "INV-202610-000003"
    message = refused_as_transformer(
        issued,
        ("issued_invoices", now_values(third, 3, TENANT, replaces_invoice_number=FIRST)),
        ("issued_invoice_lines", line_values(third, 1, TENANT)),
    )
    assert f"{FIRST} is not void with a replacement required" in message


def test_a_replacement_numbered_999_is_refused(issued: str) -> None:
    message = refused_as_transformer(
        issued,
        (
            "issued_invoices",
            now_values("INV-202610-000999", 999, TENANT, replaces_invoice_number=FIRST),
        ),
    )
    assert "number 999 of period 2026-10 is not the next one (3)" in message


def test_a_period_starting_at_seq_7_is_refused(issued: str) -> None:
    number = "INV-202611-000007"
    message = refused_as_transformer(
        issued,
        ("issued_invoices", now_values(number, 7, TENANT)),
        ("issued_invoice_lines", line_values(number, 1, TENANT, usage_period="2026-11")),
    )
    assert "number 7 of period 2026-11 is not the next one (1)" in message


def test_an_invoice_issued_in_1999_is_refused(issued: str) -> None:
    number = "INV-202611-000001"
    message = refused_as_transformer(
        issued,
        (
            "issued_invoices",
            invoice_values(number, 1, TENANT, issued_at=datetime(1999, 6, 15, 12, tzinfo=UTC)),
        ),
    )
    assert "issued_at 1999-06-15" in message
    assert "is not the time of its issuing transaction" in message


def test_a_negative_total_is_refused(issued: str) -> None:
    number = "INV-202611-000001"
    message = refused_as_transformer(
        issued,
        ("issued_invoices", now_values(number, 1, TENANT, subtotal=-5, total=-5)),
        ("issued_invoice_lines", line_values(number, 1, TENANT, amount=-5)),
    )
    assert "issued_invoices_subtotal_not_negative" in message


def test_totals_that_are_not_the_sum_of_the_lines_are_refused(issued: str) -> None:
    number = "INV-202611-000001"
    message = refused_as_transformer(
        issued,
        ("issued_invoices", now_values(number, 1, TENANT, subtotal=100, total=100)),
        ("issued_invoice_lines", line_values(number, 1, TENANT, usage_period="2026-11")),
    )
    assert "1 lines summing to 10 do not match line_count 1 and subtotal 100" in message


def test_an_invoice_without_its_lines_is_refused(issued: str) -> None:
    message = refused_as_transformer(
        issued, ("issued_invoices", now_values("INV-202611-000001", 1, TENANT))
    )
    assert "0 lines summing to 0 do not match line_count 1" in message


def test_a_currency_other_than_the_accounts_is_refused(issued: str) -> None:
    number = "INV-202611-000001"
    message = refused_as_transformer(
        issued,
        ("issued_invoices", now_values(number, 1, TENANT, currency="USD")),
        ("issued_invoice_lines", line_values(number, 1, TENANT)),
    )
    assert "currency USD is not the account's (EUR)" in message


def test_line_999_on_an_invoice_issued_earlier_is_refused(issued: str) -> None:
    message = refused_as_transformer(
        issued, ("issued_invoice_lines", line_values(FIRST, 999, TENANT, amount=1000))
    )
    assert f"issued invoice {FIRST}: lines can only be added by the transaction" in message


def test_an_event_recorded_on_an_invoice_issued_earlier_is_refused(issued: str) -> None:
    message = refused_as_transformer(
        issued,
        ("issued_invoice_events", event_values(FIRST, 1, TENANT)),
    )
    assert f"issued invoice {FIRST}: events can only be added by the transaction" in message


def test_a_line_of_another_tenant_than_its_invoices_is_refused(issued: str) -> None:
    # Readable by the other tenant, had it been accepted.
    number = "INV-202611-000001"
    message = refused_as_transformer(
        issued,
        ("issued_invoices", now_values(number, 1, TENANT)),
        ("issued_invoice_lines", line_values(number, 1, OTHER)),
    )
    assert "issued_invoice_lines_invoice_tenant_fkey" in message


def event_values(number: str, line_number: int, tenant: uuid.UUID) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "invoice_number": number,
        "line_number": line_number,
        "tenant_id": tenant,
    }


def test_an_event_of_another_tenant_than_its_invoices_is_refused(issued: str) -> None:
    number = "INV-202611-000001"
    message = refused_as_transformer(
        issued,
        ("issued_invoices", now_values(number, 1, TENANT)),
        ("issued_invoice_lines", line_values(number, 1, TENANT, usage_period="2026-11")),
        ("issued_invoice_events", event_values(number, 1, OTHER)),
    )
    assert f"issued invoice {number}: an event of tenant {OTHER} names an invoice of tenant" in (
        message
    )


def test_an_event_on_a_line_its_invoice_does_not_have_is_refused(issued: str) -> None:
    number = "INV-202611-000001"
    message = refused_as_transformer(
        issued,
        ("issued_invoices", now_values(number, 1, TENANT)),
        ("issued_invoice_lines", line_values(number, 1, TENANT, usage_period="2026-11")),
        ("issued_invoice_events", event_values(number, 2, TENANT)),
    )
    assert f"issued invoice {number}: an event names line 2, which the invoice does not" in message


def test_an_event_before_its_invoice_is_refused(issued: str) -> None:
    # The issue step appends invoices, lines, then events: checked per statement, at once.
    number = "INV-202611-000001"
    message = refused_as_transformer(
        issued,
        ("issued_invoice_events", event_values(number, 1, TENANT)),
        ("issued_invoices", now_values(number, 1, TENANT)),
        ("issued_invoice_lines", line_values(number, 1, TENANT, usage_period="2026-11")),
    )
    assert f"issued invoice {number}: an event names it, but no such invoice was issued" in message


def test_a_period_close_for_a_month_never_closed_is_refused(issued: str) -> None:
    close = {"period": "2026-09", "kind": "close", "invoice_count": 0, "event_count": 0}
    message = refused_as_transformer(
        issued, ("period_closes", {**close, "closed_at": datetime.now(UTC)})
    )
    assert "only the issue step of the close records a close" in message
    # Holding the period's issue lock is not enough: the row must describe its transaction.
    before = snapshot(issued)
    with pytest.raises(errors.CheckViolation, match="invoice_count 3 but this transaction"):
        close_row_with_the_issue_lock(issued, "close", 3)
    with pytest.raises(errors.CheckViolation, match="never closed"):
        close_row_with_the_issue_lock(issued, "replacement", 0)
    assert snapshot(issued) == before


def test_the_issue_steps_own_rows_are_accepted(issued: str) -> None:
    """What the checks allow: a new period issued and closed in one transaction, as the issue
    step does it (the invoice, its lines, their events, the close)."""
    number = "INV-202611-000001"
    with as_transformer(issued) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('billing.issue_invoices'), 202611)")
        insert(conn, "issued_invoices", now_values(number, 1, TENANT))
        insert(conn, "issued_invoice_lines", line_values(number, 1, TENANT, usage_period="2026-11"))
        insert(conn, "issued_invoice_events", event_values(number, 1, TENANT))
        conn.execute(
            "insert into billing.period_closes (period, kind, closed_at, invoice_count,"
            " event_count) values ('2026-11', 'close', now(), 1, 1)"
        )
        conn.commit()
    assert rows(issued, "select count(*) from billing.period_closes") == [(2,)]


# --- The owner, superusers and the break-glass -----------------------------------------------


def test_the_tables_of_the_migrations_belong_to_a_nologin_owner_no_component_is(
    issued: str,
) -> None:
    owners = rows(
        issued,
        "select distinct pg_get_userbyid(relowner) from pg_class"
        " where relnamespace::regnamespace::text in ('raw', 'ref') and relkind = 'r'"
        " or oid = any(%s::regclass[])",
        [f"billing.{table}" for table in ISSUED_TABLES],
    )
    assert owners == [("billing_owner",)]
    assert rows(
        issued, "select rolcanlogin, rolsuper from pg_roles where rolname = 'billing_owner'"
    ) == [(False, False)]
    # No service group (nor any of their members) can act as the owner.
    assert (
        rows(
            issued,
            "select rolname from pg_roles where rolname like 'billing\\_%%'"
            " and rolname <> 'billing_owner' and pg_has_role(oid, 'billing_owner', 'USAGE')",
        )
        == []
    )
    for group in ("billing_loader", "billing_transformer", "billing_renderer", "billing_finance"):
        with psycopg.connect(issued) as conn:
            conn.execute(f"set role {group}")
            with pytest.raises(
                errors.InsufficientPrivilege, match=r"must be owner|permission denied for schema"
            ):
                conn.execute("alter table billing.issued_invoices no force row level security")


@pytest.mark.parametrize(
    "statement",
    [
        "update billing.issued_invoices set total = 0, subtotal = 0",
        "delete from billing.issued_invoice_lines",
        "delete from billing.issued_invoice_events",
        "update billing.invoice_voids set reason = 'x'",
        "delete from billing.period_closes",
        "truncate billing.issued_invoice_events",
        "truncate billing.issued_invoices cascade",
    ],
)
@pytest.mark.parametrize("who", ["superuser", "billing_owner"])
def test_issued_rows_are_never_changed_not_by_a_superuser_nor_the_owner(
    issued: str, statement: str, who: str
) -> None:
    with psycopg.connect(issued) as conn:
        forge_void(conn)
    before = snapshot(issued)
    with psycopg.connect(issued) as conn:
        if who == "billing_owner":
            conn.execute("set role billing_owner")
            if not statement.startswith("truncate"):
                # Row-level security hides every row from the owner (it has no policy), so
                # its UPDATE and DELETE reach no row; TRUNCATE ignores policies: the trigger.
                assert conn.execute(statement).rowcount == 0
                conn.commit()
                assert snapshot(issued) == before
                return
        with pytest.raises(errors.InsufficientPrivilege, match="refused: issued records"):
            conn.execute(statement)
    assert snapshot(issued) == before


def forge_void(conn: psycopg.Connection[Any], number: str = FIRST) -> None:
    with forged_history(conn):
        conn.execute(
            "insert into billing.invoice_voids (invoice_number, tenant_id, reason, replacement,"
            " voided_by, voided_at) values (%s, %s, 'wrong price', 'required', 'finance.ada',"
            " '2026-11-05T10:00:00Z')",
            (number, TENANT),
        )


def test_the_break_glass_opens_one_transaction_and_keeps_who_why_and_what(
    issued: str, login: LoginFactory
) -> None:
    operator = login("billing_break_glass")
    operator_name = operator.rsplit("@", 1)[0].rsplit("/", 1)[-1]
    with psycopg.connect(operator) as conn:
        # Without the break-glass, even its members are refused.
        with pytest.raises(errors.InsufficientPrivilege, match="refused"):
            conn.execute("update billing.issued_invoice_lines set description = 'fixed'")
        conn.rollback()
        # A setting typed by hand opens nothing.
        conn.execute("set billing.break_glass = '1'")
        with pytest.raises(errors.InsufficientPrivilege, match="refused"):
            conn.execute("update billing.issued_invoice_lines set description = 'fixed'")
        conn.rollback()
        [(opened,)] = conn.execute(
            "select billing.break_glass('INC-4711: typo in the line description',"
            " array['billing.issued_invoice_lines'])"
        ).fetchall()
        changed = conn.execute(
            "update billing.issued_invoice_lines set description = 'SMS outbound SFR'"
            " where invoice_number = %s",
            (FIRST,),
        ).rowcount
        assert changed == 1
        # Only the tables it names.
        with pytest.raises(errors.InsufficientPrivilege, match="refused"):
            conn.execute("delete from billing.issued_invoice_events")
        conn.rollback()
        # Rolled back: do it again, and commit.
        conn.execute(
            "select billing.break_glass('INC-4711: typo in the line description',"
            " array['billing.issued_invoice_lines'])"
        )
        conn.execute(
            "update billing.issued_invoice_lines set description = 'SMS outbound SFR'"
            " where invoice_number = %s",
            (FIRST,),
        )
        conn.commit()
        # The next transaction is closed again.
        with pytest.raises(errors.InsufficientPrivilege, match="refused"):
            conn.execute("update billing.issued_invoice_lines set description = 'again'")
    assert opened >= 1
    assert rows(
        issued,
        "select description from billing.issued_invoice_lines where invoice_number = %s",
        FIRST,
    ) == [("SMS outbound SFR",)]
    [(who, why, tables)] = rows(
        issued, "select opened_by, reason, tables from billing.break_glass_log"
    )
    assert (who, why, tables) == (
        operator_name,
        "INC-4711: typo in the line description",
        ["billing.issued_invoice_lines"],
    )
    [(table, operation, old, new, by)] = rows(
        issued,
        "select table_name, operation, old_row, new_row, changed_by"
        " from billing.break_glass_changes",
    )
    assert (table, operation, by) == ("billing.issued_invoice_lines", "UPDATE", operator_name)
    assert old["description"] == "SMS outbound sfr_fr"
    assert new["description"] == "SMS outbound SFR"
    # The audit trail is append-only, even for a superuser.
    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        rows(issued, "delete from billing.break_glass_log")


def test_only_members_of_billing_break_glass_may_open_it(issued: str, login: LoginFactory) -> None:
    for group in ("billing_transformer", "billing_finance"):
        with pytest.raises(errors.InsufficientPrivilege, match="break_glass"):
            rows(
                login(group),
                "select billing.break_glass('INC-1: I would like to',"
                " array['billing.issued_invoices'])",
            )
    assert rows(issued, "select count(*) from billing.break_glass_log") == [(0,)]


# --- Voids and documents ---------------------------------------------------------------------


def test_a_superuser_may_not_void_through_the_cli_nor_the_database(issued: str) -> None:
    before = snapshot(issued)
    result = billing(
        "invoices", "void", FIRST, "--reason", "superuser tries", BILLING_DATABASE_URL=issued
    )
    assert result.returncode != 0
    line = one_line(result.stderr + result.stdout)
    assert "superuser" in line
    assert "billing_finance" in line
    with pytest.raises(errors.InsufficientPrivilege, match="a superuser may not void"):
        rows(
            issued,
            "insert into billing.invoice_voids (invoice_number, tenant_id, reason, replacement)"
            " values (%s, %s, 'superuser tries', 'none')",
            FIRST,
            TENANT,
        )
    assert snapshot(issued) == before


def test_a_login_outside_billing_finance_may_not_void_through_the_cli(
    issued: str, login: LoginFactory
) -> None:
    result = billing(
        "invoices",
        "void",
        FIRST,
        "--reason",
        "not mine",
        BILLING_DATABASE_URL=login("billing_auditor"),
    )
    assert result.returncode != 0
    assert "not a member of billing_finance" in one_line(result.stderr + result.stdout)
    assert rows(issued, "select count(*) from billing.invoice_voids") == [(0,)]


@pytest.mark.parametrize(
    ("column", "value"),
    [("voided_at", "2026-10-02T00:00:00Z"), ("voided_by", "someone.else")],
)
def test_finance_cannot_backdate_a_void_nor_sign_it_for_someone_else(
    issued: str, login: LoginFactory, column: str, value: str
) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="invoice_voids"):
        rows(
            login("billing_finance"),
            "insert into billing.invoice_voids (invoice_number, tenant_id, reason,"
            f" replacement, {column}) values (%s, %s, 'wrong', 'none', %s)",
            FIRST,
            TENANT,
            value,
        )
    assert rows(issued, "select count(*) from billing.invoice_voids") == [(0,)]


def test_finance_voids_with_the_defaults(issued: str, login: LoginFactory) -> None:
    finance = login("billing_finance")
    with psycopg.connect(finance) as conn:
        conn.execute(
            "insert into billing.invoice_voids (invoice_number, tenant_id, reason, replacement)"
            " values (%s, %s, 'wrong price', 'required')",
            (FIRST, TENANT),
        )
    [(by, recent)] = rows(
        issued,
        "select voided_by, voided_at > now() - interval '1 minute' from billing.invoice_voids",
    )
    assert by == finance.rsplit("@", 1)[0].rsplit("/", 1)[-1]
    assert recent


def document(kind: str, uri: str, number: str = FIRST) -> dict[str, Any]:
    return {
        "invoice_number": number,
        "kind": kind,
        "tenant_id": TENANT,
        "uri": uri,
        "sha256": "0" * 64,
        "size_bytes": 10,
    }


def record_document(database_url: str, values: dict[str, Any]) -> None:
    """Record a document as the renderer does."""
    with psycopg.connect(database_url) as conn:
        conn.execute("set role billing_renderer")
        insert(conn, "invoice_documents", values)


def test_a_void_notice_is_only_for_a_void_invoice_and_at_its_own_key(issued: str) -> None:
    notice = "file:///documents/invoices/2026/10/INV-202610-000001-void.pdf"
    with pytest.raises(errors.CheckViolation, match="a void notice is only for a void invoice"):
        record_document(issued, document("void_notice", notice))
    with psycopg.connect(issued) as conn:
        forge_void(conn)
    for uri in ("https://attacker.example/x.pdf", notice.replace("-void", "")):
        with pytest.raises(errors.CheckViolation, match="is not where a void_notice of it"):
            record_document(issued, document("void_notice", uri))
    # The invoice of another tenant.
    other = document("invoice", notice.replace("000001-void", "000002"), number=SECOND)
    with pytest.raises(errors.ForeignKeyViolation, match="invoice_documents_invoice_tenant"):
        record_document(issued, other)
    record_document(issued, document("void_notice", notice))
    assert rows(issued, "select kind, uri from billing.invoice_documents") == [
        ("void_notice", notice)
    ]


def test_the_outbox_only_gets_its_published_mark(issued: str) -> None:
    with psycopg.connect(issued) as conn:
        conn.execute(
            "insert into billing.invoice_outbox (event_id, invoice_number, subject, payload)"
            " values (%s, %s, 'billing.invoice.generated.v1', '{}')",
            (uuid.uuid4(), FIRST),
        )
    with psycopg.connect(issued) as conn:
        conn.execute("set role billing_renderer")
        conn.execute("update billing.invoice_outbox set published_at = now()")
    with pytest.raises(errors.InsufficientPrivilege, match="refused"):
        rows(issued, "update billing.invoice_outbox set published_at = now()")
    with pytest.raises(errors.InsufficientPrivilege, match="refused"):
        rows(issued, "delete from billing.invoice_outbox")


# --- Tenant logins (section 4) ---------------------------------------------------------------


def test_a_tenant_login_has_no_temp_no_large_objects_a_timeout_and_a_connection_limit(
    issued: str, login: LoginFactory
) -> None:
    tenant = login("billing_tenant", tenant_id=TENANT)
    name = tenant.rsplit("@", 1)[0].rsplit("/", 1)[-1]
    with psycopg.connect(tenant, autocommit=True) as conn:
        with pytest.raises(errors.InsufficientPrivilege, match="temporary"):
            conn.execute("create temporary table mine (x int)")
        for statement in (
            "select lo_create(0)",
            "select lo_creat(-1)",
            "select lo_from_bytea(0, 'x')",
        ):
            with pytest.raises(errors.InsufficientPrivilege, match="lo_"):
                conn.execute(statement)
        assert conn.execute("show statement_timeout").fetchone() == ("30s",)
        assert conn.execute("show idle_in_transaction_session_timeout").fetchone() == ("1min",)
        # What the catalogs still show is documented (docs/security.md); not the column
        # statistics of a table with row-level security, nor other sessions' queries.
        with psycopg.connect(issued, autocommit=True) as owner:
            owner.execute("analyze billing.issued_invoices")
        assert conn.execute(
            "select count(*) from pg_stats where schemaname = 'billing'"
            " and tablename = 'issued_invoices'"
        ).fetchone() == (0,)
        assert conn.execute(
            "select distinct query from pg_stat_activity"
            " where usename <> current_user and backend_type = 'client backend'"
        ).fetchall() in ([], [("<insufficient privilege>",)])
        # Its own rows are still there.
        assert conn.execute("select invoice_number from billing.issued_invoices").fetchall() == [
            (FIRST,)
        ]
    assert rows(issued, "select rolconnlimit from pg_roles where rolname = %s", name) == [(5,)]
    # The service roles keep TEMP (dbt's incremental models, the issue step).
    with psycopg.connect(login("billing_transformer"), autocommit=True) as conn:
        conn.execute("create temporary table scratch (x int)")


def test_only_a_plain_tenant_login_can_be_mapped_to_a_tenant(
    issued: str, login: LoginFactory
) -> None:
    finance = login("billing_finance").rsplit("@", 1)[0].rsplit("/", 1)[-1]
    superuser = rows(issued, "select session_user")[0][0]
    for role in (finance, superuser):
        with pytest.raises(errors.InsufficientPrivilege, match="a tenant login is a member"):
            rows(
                issued,
                "insert into ref.tenant_logins (login_role, tenant_id) values (%s, %s)",
                role,
                TENANT,
            )


def test_a_tenant_login_is_held_to_its_connection_limit(issued: str, login: LoginFactory) -> None:
    tenant = login("billing_tenant", tenant_id=TENANT)
    held = [psycopg.connect(tenant) for _ in range(5)]
    try:
        with pytest.raises(psycopg.OperationalError, match="too many connections"):
            psycopg.connect(tenant).close()
    finally:
        for conn in held:
            conn.close()
