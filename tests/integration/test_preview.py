"""The open-month preview (issue 20): the close's own dbt models on an open month, nothing
issued. Real PostgreSQL, real dbt, the real `billing` command.

One month of data covers the fixed cases at once: a partial first month (B, from the 17th),
a tier change (C, starter then business from the 11th), a price version change (D,
vodafone_de's v1 until the 14th and v2 from the 15th) and late usage (A, a September event
landed after September was closed).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from billing.locks import Lock, advisory_lock
from billing.periods import Period
from billing.settings import Settings
from finance.preview import CloseRunningError, build_preview, read_preview
from tests.conftest import DatabaseSnapshots, LoginFactory
from tests.support.billing_data import Event, add_account, add_tier, at, land_events
from tests.support.cli import billing, one_line
from tests.support.dbt import DbtProject

TENANT_A = uuid.UUID("a0000000-0000-4000-8000-00000000000a")
TENANT_B = uuid.UUID("b0000000-0000-4000-8000-00000000000b")
TENANT_C = uuid.UUID("c0000000-0000-4000-8000-00000000000c")
TENANT_D = uuid.UUID("d0000000-0000-4000-8000-00000000000d")
OCTOBER = Period(2026, 10)

# What both an issued line and a preview line say (the issued one adds its number).
LINE_COLUMNS = (
    "line_number, line_type, description, usage_period, operator_id, direction, account_tier,"
    " rule_id, fee_id, quantity, unit_price, amount, service_start, service_end, period_days"
)


def rows(database_url: str, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, parameters).fetchall()


def side_effect_counts(database_url: str) -> list[tuple[Any, ...]]:
    """What a preview must never add to: issued rows, period closes, the outbox."""
    return rows(
        database_url,
        "select (select count(*) from billing.issued_invoices),"
        " (select count(*) from billing.issued_invoice_lines),"
        " (select count(*) from billing.issued_invoice_events),"
        " (select count(*) from billing.period_closes),"
        " (select count(*) from billing.invoice_outbox)",
    )


def september_closed_october_open(
    database_url: str, dbt_project: DbtProject, _logins: LoginFactory
) -> None:
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT_A, tier="starter")
        add_account(
            conn, TENANT_B, currency="USD", tier="business", activated_on=date(2026, 10, 17)
        )
        add_account(conn, TENANT_C, tier="starter")
        add_tier(conn, TENANT_C, "business", date(2026, 10, 11))
        add_account(conn, TENANT_D, tier="enterprise")
        land_events(conn, [Event(TENANT_A, at("2026-09-10"), "tim_it", "outbound", 1)])
    dbt_project.close("2026-09")
    with psycopg.connect(database_url) as conn:
        land_events(
            conn,
            [
                Event(TENANT_A, at("2026-09-30", "23:30:00"), "tim_it", "outbound", 4),  # late
                Event(TENANT_A, at("2026-10-02"), "tim_it", "outbound", 2),
                Event(TENANT_B, at("2026-10-18"), "bt_uk", "outbound", 3),
                Event(TENANT_C, at("2026-10-20"), "orange_fr", "outbound", 2),
                Event(TENANT_D, at("2026-10-14", "23:59:59"), "vodafone_de", "outbound", 10),
                Event(TENANT_D, at("2026-10-15", "00:00:00"), "vodafone_de", "outbound", 20),
            ],
        )


@pytest.fixture
def october_open(database_url: str, database_snapshots: DatabaseSnapshots) -> str:
    """September closed (INV-202609-000001 for A), October's events landed, nothing built."""
    restored = database_snapshots.restore("preview_october", september_closed_october_open)
    assert restored == database_url
    return database_url


def issued_lines(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    lines: dict[str, list[tuple[Any, ...]]] = {}
    for tenant_id, *line in rows(
        database_url,
        f"select tenant_id, {LINE_COLUMNS} from billing.invoice_lines"
        " where invoice_number like 'INV-202610-%%' order by tenant_id, line_number",
    ):
        lines.setdefault(str(tenant_id), []).append(tuple(line))
    return lines


def json_line(line: dict[str, Any]) -> tuple[Any, ...]:
    """A preview line of `billing preview --format json` as the issued row's values."""

    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return (
        line["line_number"],
        line["line_type"],
        line["description"],
        line["usage_period"],
        line["operator_id"],
        line["direction"],
        line["account_tier"],
        line["rule_id"],
        line["fee_id"],
        line["quantity"],
        Decimal(line["unit_price"]),
        Decimal(line["amount"]),
        day(line["service_start"]),
        day(line["service_end"]),
        line["period_days"],
    )


def test_the_preview_is_the_close_to_the_cent_and_takes_no_number(
    october_open: str, dbt_project: DbtProject, login: LoginFactory
) -> None:
    url = october_open
    before = side_effect_counts(url)
    shown = billing("preview", "--month", "2026-10", "--format", "json", BILLING_DATABASE_URL=url)
    assert shown.returncode == 0, shown.stderr
    preview = json.loads(shown.stdout)
    assert preview["closed"] is False
    assert side_effect_counts(url) == before  # nothing issued, closed or queued
    drafts = {draft["tenant_id"]: draft for draft in preview["drafts"]}
    assert sorted(drafts) == sorted(str(t) for t in (TENANT_A, TENANT_B, TENANT_C, TENANT_D))
    assert {d["status"] for d in drafts.values()} == {"DRAFT"}
    assert {d["invoice_number"] for d in drafts.values()} == {None}
    # The fixed cases are in the preview: late usage, partial month, tier change, price change.
    kinds = {
        t: [(x["line_type"], x["usage_period"]) for x in d["lines"]] for t, d in drafts.items()
    }
    assert ("late_usage", "2026-09") in kinds[str(TENANT_A)]
    b_fee = drafts[str(TENANT_B)]["lines"][0]
    assert (b_fee["line_type"], b_fee["quantity"], b_fee["period_days"]) == ("subscription", 15, 31)
    assert [x["fee_id"] for x in drafts[str(TENANT_C)]["lines"] if x["fee_id"]] == [
        "starter.EUR.2025",
        "business.EUR.2025",
    ]
    assert [x["rule_id"] for x in drafts[str(TENANT_D)]["lines"] if x["rule_id"]] == [
        "enterprise.vodafone_de.outbound.EUR.v1",
        "enterprise.vodafone_de.outbound.EUR.v2",
    ]

    # The close of the same data, with no new events: the same lines, subtotals and totals.
    dbt_project.close("2026-10")
    invoices = rows(
        url,
        "select invoice_number, tenant_id, subtotal, total from billing.invoices"
        " where period = '2026-10' order by invoice_number",
    )
    assert invoices[0][0] == "INV-202610-000001"  # the preview took no number
    assert [number for number, *_ in invoices] == [
        f"INV-202610-{seq:06d}" for seq in range(1, len(invoices) + 1)
    ]
    assert {str(tenant): (subtotal, total) for _, tenant, subtotal, total in invoices} == {
        tenant: (Decimal(d["subtotal"]), Decimal(d["total"])) for tenant, d in drafts.items()
    }
    assert issued_lines(url) == {
        tenant: [json_line(line) for line in d["lines"]] for tenant, d in drafts.items()
    }

    # The preview relations still hold October's last build (the close's step a), yet no
    # reader sees a row of it now that October is closed: not Finance, not a tenant login.
    assert rows(url, "select count(*) from billing.invoice_previews where period = '2026-10'") == [
        (len(drafts),)
    ]  # as the superuser (no row-level security): the rows are there
    for reader in (login("billing_finance"), login("billing_tenant", tenant_id=TENANT_A)):
        for relation in ("invoice_previews", "invoice_preview_lines"):
            assert rows(
                reader, f"select count(*) from billing.{relation} where period = '2026-10'"
            ) == [(0,)], (reader, relation)

    # A closed month: nothing is built; the command says so and shows the issued invoices.
    assert build_preview(Settings(), url, OCTOBER) is False
    closed = billing("preview", "--month", "2026-10", BILLING_DATABASE_URL=url, columns=120)
    assert closed.returncode == 0, closed.stderr
    assert "2026-10 is closed" in closed.stdout
    assert "INV-202610-000001" in closed.stdout
    assert "DRAFT" not in closed.stdout
    shown = billing("preview", "--month", "2026-10", "--format", "json", BILLING_DATABASE_URL=url)
    assert json.loads(shown.stdout)["closed"] is True
    assert [i["invoice_number"] for i in json.loads(shown.stdout)["issued_invoices"]] == [
        number for number, *_ in invoices
    ]


def test_a_tenant_login_sees_only_its_own_draft(october_open: str, login: LoginFactory) -> None:
    settings = Settings()
    shown = billing(
        "preview",
        "--month",
        "2026-10",
        "--tenant",
        str(TENANT_B),
        BILLING_DATABASE_URL=october_open,
        columns=100,
    )
    assert shown.returncode == 0, shown.stderr
    assert "DRAFT 2026-10" in shown.stdout
    assert f"Tenant {str(TENANT_B)[:8]}" in shown.stdout
    assert f"Tenant {str(TENANT_A)[:8]}" not in shown.stdout
    assert "INV-" not in shown.stdout
    everyone = read_preview(settings, october_open, OCTOBER)
    assert len(everyone.drafts) == 4
    assert everyone.unpriced == ()
    tenant = login("billing_tenant", tenant_id=TENANT_B)
    with psycopg.connect(tenant) as conn:
        # Setting another tenant changes nothing: the identity is the login's.
        conn.execute("select set_config('billing.tenant_id', %s, false)", (str(TENANT_A),))
        assert conn.execute(
            "select tenant_id, status from billing.invoice_previews"
        ).fetchall() == [(TENANT_B, "draft")]
        assert {
            row[0] for row in conn.execute("select tenant_id from billing.invoice_preview_lines")
        } == {TENANT_B}
    unmapped = login("billing_tenant")
    with psycopg.connect(unmapped) as conn:
        assert conn.execute("select count(*) from billing.invoice_previews").fetchall() == [(0,)]
    # Only Finance's read is per tenant on request.
    only_b = read_preview(settings, october_open, OCTOBER, TENANT_B)
    assert [d.tenant_id for d in only_b.drafts] == [TENANT_B]


def test_a_preview_refuses_while_a_close_runs_in_one_line(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn, advisory_lock(conn, Lock.CLOSE):
        with pytest.raises(CloseRunningError, match="a close is running"):
            build_preview(Settings(), database_url, OCTOBER)
        refused = billing("preview", "--month", "2026-10", BILLING_DATABASE_URL=database_url)
    assert refused.returncode == 2
    assert "a close is running" in one_line(refused.stderr)
    assert side_effect_counts(database_url) == [(0, 0, 0, 0, 0)]
    wrong = billing(
        "preview", "--month", "2026-10", "--tenant", "acme", BILLING_DATABASE_URL=database_url
    )
    assert wrong.returncode == 2
    assert "Traceback" not in wrong.stderr


def test_the_table_and_csv_show_drafts_unpriced_events_and_coverage_gaps(
    october_open: str,
) -> None:
    """What Finance reads before the close: DRAFT invoices on 80 columns, then what would block
    the close; the same lines as CSV for a spreadsheet."""
    with psycopg.connect(october_open) as conn:
        land_events(conn, [Event(TENANT_A, at("2026-10-09"), "nowhere_op", "outbound", 1)])

    shown = billing("preview", "--month", "2026-10", BILLING_DATABASE_URL=october_open)

    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "DRAFT invoices of 2026-10: nothing issued, no number taken" in text
    assert "(no invoice number: not issued)" in text
    assert "INV-202610" not in text
    assert "Unpriced events (each blocks the close)" in text
    assert "no_rule" in text  # the unknown operator has no pricing rule
    assert "Catalogue coverage gaps" in text
    assert max(len(line) for line in text.splitlines()) <= 80

    csv_text = billing(
        "preview", "--month", "2026-10", "--format", "csv", BILLING_DATABASE_URL=october_open
    )
    assert csv_text.returncode == 0, csv_text.stderr
    header, *lines = csv_text.stdout.splitlines()
    assert "tenant_id" in header
    assert "amount" in header
    assert {line.split(",")[header.split(",").index("tenant_id")] for line in lines} >= {
        str(TENANT_A),
        str(TENANT_D),
    }
