"""Tenant isolation, least privilege and forced row-level security (SPEC section 5).

Every relation of schema billing is discovered from the catalog, so a model added later is
covered without touching this file: a relation is either in TENANT_FACING (a tenant reads
its own rows) or internal (a tenant reads nothing). Tenants connect as real login roles.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from finance.invoices import void_invoice
from tests.conftest import DatabaseSnapshots, LoginFactory
from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.dbt import DbtProject

TENANT_A = uuid.UUID("a0000000-0000-4000-8000-00000000000a")
TENANT_B = uuid.UUID("b0000000-0000-4000-8000-00000000000b")

# SPEC section 5: what a tenant may read (its own rows). Everything else shows it no row.
TENANT_FACING = {
    "issued_invoices",
    "issued_invoice_lines",
    "issued_invoice_events",
    "invoice_voids",
    "invoices",
    "invoice_lines",
    "invoice_previews",
    "invoice_preview_lines",
    "priced_charges",
    "unpriced_charges",
}
# What the platform pays an operator, and what it earns: never readable by a tenant (SPEC
# section 5, revised), in any relation of any schema a tenant can reach.
COST_COLUMNS = {"cost_id", "unit_cost", "cost_amount", "cost", "margin", "margin_pct", "revenue"}
MODEL_SCHEMAS = ("billing", "intermediate", "staging")


def billing_relations(database_url: str) -> dict[str, str]:
    """Every table and view of schema billing: name -> relkind."""
    with psycopg.connect(database_url) as conn:
        return dict(
            conn.execute(
                "select c.relname, c.relkind::text from pg_class c"
                " join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = 'billing' and c.relkind in ('r', 'v', 'p', 'm')"
            ).fetchall()
        )


def has_tenant_column(conn: psycopg.Connection[Any], relation: str) -> bool:
    row = conn.execute(
        "select count(*) from information_schema.columns"
        " where table_schema = 'billing' and table_name = %s and column_name = 'tenant_id'",
        (relation,),
    ).fetchone()
    return bool(row and row[0])


def tenant_rows(
    database_url: str, relation: str, *, refused_is_empty: bool = False
) -> list[uuid.UUID | None]:
    """The tenant_id of every row a session sees (None for relations without the column).

    With refused_is_empty, a relation the session may not read at all counts as no rows.
    """
    if refused_is_empty:
        try:
            return tenant_rows(database_url, relation)
        except errors.InsufficientPrivilege:
            return []
    with psycopg.connect(database_url) as conn:
        identifier = sql.Identifier("billing", relation)
        if has_tenant_column(conn, relation):
            query = sql.SQL("select tenant_id from {}").format(identifier)
        else:
            query = sql.SQL("select null::uuid from {}").format(identifier)
        return [row[0] for row in conn.execute(query).fetchall()]


def bill_two_tenants(database_url: str, dbt_project: DbtProject, login: LoginFactory) -> None:
    """Two tenants with rows in every tenant-facing relation, and internal rows too."""
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A, tier="starter")
        add_account(conn, TENANT_B, tier="business", currency="USD")
        land_events(
            conn,
            [
                Event(TENANT_A, at("2026-10-05"), "sfr_fr", "outbound", 3),
                Event(TENANT_A, at("2026-10-06"), "bt_uk", "inbound", 1),
                Event(TENANT_B, at("2026-10-07"), "att_us", "outbound", 2),
                Event(TENANT_A, at("2026-10-07"), "sfr_fr", "outbound", 2, message_id="dup"),
            ],
        )
    dbt_project.close("2026-10")
    finance = login("billing_finance")
    for number in ("INV-202610-000001", "INV-202610-000002"):
        void_invoice(finance, number, reason="test", replacement_required=False)
    with psycopg.connect(database_url) as conn:
        # November: an unpriced event for each tenant (a missing operator), not closed.
        land_events(
            conn,
            [
                Event(TENANT_A, at("2026-11-02"), "unknown_op", "outbound", 1),
                Event(TENANT_B, at("2026-11-02"), "unknown_op", "outbound", 1),
            ],
        )
        # Internal rows: a stored document and its outbox event.
        conn.execute(
            "insert into billing.invoice_documents (invoice_number, kind, tenant_id, uri, sha256,"
            " size_bytes) values ('INV-202610-000002', 'invoice', %s,"
            " 'file:///documents/invoices/2026/10/INV-202610-000002.pdf', %s, 10)",
            (TENANT_B, "0" * 64),
        )
        conn.execute(
            "insert into billing.invoice_outbox (event_id, invoice_number, subject, payload)"
            " values (%s, 'INV-202610-000002', 'billing.invoice.generated.v1', '{}')",
            (uuid.uuid4(),),
        )
    dbt_project.build_models("2026-11")


@pytest.fixture
def two_tenants_billed(database_url: str, database_snapshots: DatabaseSnapshots) -> None:
    """This test's database as bill_two_tenants leaves it (built once per worker)."""
    assert database_snapshots.restore("two_tenants_billed", bill_two_tenants) == database_url


def test_every_billing_relation_isolates_tenants(
    database_url: str, two_tenants_billed: None, login: LoginFactory
) -> None:
    relations = billing_relations(database_url)
    assert set(relations) >= TENANT_FACING, "a tenant-facing relation is missing"
    auditor = login("billing_auditor")
    tenant_a = login("billing_tenant", tenant_id=TENANT_A)
    tenant_b = login("billing_tenant", tenant_id=TENANT_B)
    unmapped = login("billing_tenant")
    for relation in sorted(relations):
        everything = tenant_rows(auditor, relation)
        for tenant_id, tenant_url in ((TENANT_A, tenant_a), (TENANT_B, tenant_b)):
            seen = tenant_rows(tenant_url, relation, refused_is_empty=relation not in TENANT_FACING)
            if relation in TENANT_FACING:
                assert sorted(map(str, seen)) == sorted(
                    str(t) for t in everything if t == tenant_id
                ), f"{relation}: a tenant must see exactly its own rows"
                assert seen, f"{relation}: the fixture should give each tenant rows"
            else:
                assert seen == [], f"{relation} is internal but a tenant sees rows"
        assert tenant_rows(unmapped, relation, refused_is_empty=True) == [], (
            f"{relation}: an unmapped login sees rows"
        )
        if relation in ("invoice_documents", "invoice_outbox", "period_closes"):
            assert everything, f"{relation}: the auditor should see the internal rows"


def readable_columns(
    owner_url: str, login_url: str, schemas: tuple[str, ...]
) -> dict[str, set[str]]:
    """relation -> the columns `login_url` can actually SELECT, tried one by one.

    The columns are listed from the catalog as the owner (information_schema shows a login
    only what it has some privilege on), then each is selected as the login.
    """
    with psycopg.connect(owner_url) as conn:
        columns = conn.execute(
            "select n.nspname, c.relname, a.attname from pg_attribute a"
            " join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind in ('r', 'v', 'p', 'm')"
            " and a.attnum > 0 and not a.attisdropped",
            (list(schemas),),
        ).fetchall()
    readable: dict[str, set[str]] = {}
    with psycopg.connect(login_url, autocommit=True) as conn:
        for schema, relation, column in columns:
            query = sql.SQL("select {} from {} limit 1").format(
                sql.Identifier(column), sql.Identifier(schema, relation)
            )
            try:
                conn.execute(query).fetchall()
            except errors.InsufficientPrivilege:
                continue
            readable.setdefault(f"{schema}.{relation}", set()).add(column)
    return readable


def test_a_tenant_reads_no_cost_or_margin_in_any_relation_or_column(
    database_url: str, two_tenants_billed: None, login: LoginFactory
) -> None:
    tenant_a = login("billing_tenant", tenant_id=TENANT_A)
    readable = readable_columns(
        database_url, tenant_a, ("billing", "intermediate", "staging", "catalogue")
    )
    leaks = {
        relation: columns & COST_COLUMNS
        for relation, columns in readable.items()
        if columns & COST_COLUMNS
    }
    assert leaks == {}, f"a tenant can read cost or margin columns: {leaks}"
    # Whole relations: margins and the per-event costs are internal, the catalogues too.
    for relation in ("billing.margins", "billing.charge_margins", "catalogue.operator_costs"):
        assert relation not in readable, f"{relation}: a tenant can read it"
    # What a tenant does read: its prices and amounts, its own rows only.
    assert readable["billing.priced_charges"] >= {"event_id", "rule_id", "unit_price", "amount"}
    assert readable["intermediate.int_charges_priced"] >= {"unit_price", "amount"}
    with psycopg.connect(tenant_a) as conn:
        seen = conn.execute(
            "select distinct tenant_id, currency from billing.priced_charges"
        ).fetchall()
        assert seen == [(TENANT_A, "EUR")]
        for statement in (
            "select * from intermediate.int_charges_priced",
            "select unit_cost from intermediate.int_charges_priced",
            "select margin from billing.margins",
        ):
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)
    # Finance still reads them all, per event and per month.
    with psycopg.connect(login("billing_finance")) as conn:
        assert conn.execute("select count(*) from billing.charge_margins").fetchone() == (4,)
        assert conn.execute("select count(*) from billing.margins").fetchone() == (3,)


def test_a_tenant_cannot_impersonate_another_with_settings(
    database_url: str, two_tenants_billed: None, login: LoginFactory
) -> None:
    tenant_a = login("billing_tenant", tenant_id=TENANT_A)
    with psycopg.connect(tenant_a) as conn:
        conn.execute("select set_config('billing.tenant_id', %s, false)", (str(TENANT_B),))
        conn.execute("set application_name = 'impersonation attempt'")
        seen = conn.execute("select distinct tenant_id from billing.invoices").fetchall()
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("set role billing_auditor")
    assert seen == [(TENANT_A,)]


def test_a_tenant_cannot_write_any_billing_relation(
    database_url: str, two_tenants_billed: None, login: LoginFactory
) -> None:
    tenant_a = login("billing_tenant", tenant_id=TENANT_A)
    for relation in sorted(billing_relations(database_url)):
        identifier = sql.Identifier("billing", relation)
        for statement in (
            sql.SQL("insert into {} default values").format(identifier),
            sql.SQL("delete from {}").format(identifier),
            sql.SQL("update {} set tenant_id = tenant_id").format(identifier),
        ):
            with (
                psycopg.connect(tenant_a) as conn,
                pytest.raises(
                    (
                        errors.InsufficientPrivilege,
                        errors.UndefinedColumn,
                        errors.ObjectNotInPrerequisiteState,
                    )
                ),
            ):
                conn.execute(statement)
    # Nothing changed: the auditor's counts are those of the fixture.
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from billing.issued_invoices").fetchone() == (2,)


def test_the_loader_role_reads_no_billing_relation(
    database_url: str, two_tenants_billed: None, login: LoginFactory
) -> None:
    loader = login("billing_loader")
    for relation in sorted(billing_relations(database_url)):
        with psycopg.connect(loader) as conn, pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("select 1 from {} limit 1").format(sql.Identifier("billing", relation))
            )
    for table in ("message_charged", "rejected_messages"):
        for statement in (
            "select 1 from {} limit 1",
            "update {} set subject = subject",
            "delete from {}",
        ):
            with psycopg.connect(loader) as conn, pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql.SQL(statement).format(sql.Identifier("raw", table)))


def forced_rls_report(database_url: str) -> list[tuple[str, str, bool, bool, int]]:
    """Every table of the model schemas and billing: RLS enabled, forced, policy count."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "select n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " (select count(*) from pg_policy p where p.polrelid = c.oid)::int"
            " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind in ('r', 'p') order by 1, 2",
            (list(MODEL_SCHEMAS),),
        ).fetchall()


def assert_every_table_has_forced_rls(database_url: str) -> None:
    report = forced_rls_report(database_url)
    assert {name for schema, name, *_ in report if schema == "billing"} >= {
        "issued_invoices",
        "margins",
        "invoice_drafts",
    }
    missing = [row for row in report if not (row[2] and row[3] and row[4] > 0)]
    assert missing == [], f"tables without forced row-level security: {missing}"
    with psycopg.connect(database_url) as conn:
        views = conn.execute(
            "select n.nspname, c.relname from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind = 'v'"
            " and not coalesce('security_invoker=true' = any(c.reloptions), false)",
            (list(MODEL_SCHEMAS),),
        ).fetchall()
    assert views == [], f"views that are not security_invoker: {views}"


def test_every_table_has_forced_rls_after_a_build_and_a_full_refresh(
    database_url: str, dbt_project: DbtProject, login: LoginFactory
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A)
        land_events(conn, [Event(TENANT_A, at("2026-10-05"))])
    # Seeds and models, as the close builds them; the data tests do not change a relation.
    no_tests = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
    dbt_project.build("2026-10", *no_tests)
    assert_every_table_has_forced_rls(database_url)
    dbt_project.build("2026-10", "--full-refresh", *no_tests)
    assert_every_table_has_forced_rls(database_url)
    # The invoice views read the issued tables through staging views: every reader keeps its
    # access after a rebuild (grants come from the models' grants config and default privileges).
    readers = [login(group) for group in ("billing_renderer", "billing_finance", "billing_auditor")]
    for url in [*readers, login("billing_tenant", tenant_id=TENANT_A)]:
        with psycopg.connect(url) as conn:
            for relation in ("invoices", "invoice_lines"):
                conn.execute(
                    sql.SQL("select count(*) from {}").format(sql.Identifier("billing", relation))
                )


def test_no_role_but_the_owner_can_change_issued_rows(
    database_url: str, two_tenants_billed: None, login: LoginFactory
) -> None:
    for group in ("billing_transformer", "billing_renderer", "billing_finance", "billing_auditor"):
        url = login(group)
        for statement in (
            "update billing.issued_invoices set total = 0",
            "delete from billing.issued_invoice_lines",
            "delete from billing.invoice_voids",
            "truncate billing.issued_invoice_events",
        ):
            with psycopg.connect(url) as conn, pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
