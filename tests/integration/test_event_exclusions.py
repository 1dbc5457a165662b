"""Finance-approved exclusions (issue 18, section 1): one bogus event never stops invoicing.

A contract-valid event of an unknown tenant, of an unknown operator, or of 1970 for a real
tenant (no tier then) is unpriced: it blocks its month and every later close, and on main the
only way out was inventing reference data that would then bill the junk. Finance excludes it
instead, as its own login; the close then goes on, and the ledger shows it `excluded`.
Each test below fails on main (there is no billing.event_exclusions, no exclude command, and
close_blockers names no command).
"""

from __future__ import annotations

import shlex
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from billing.errors import PermissionRefusedError
from finance.exclusions import ExclusionAction, ExclusionRefusedError, record
from tests.conftest import LoginFactory
from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.cli import billing, one_line
from tests.support.dbt import DbtProject
from warehouse.transform import DbtFailedError

TENANT = uuid.UUID("a0000000-0000-4000-8000-00000000000a")
UNKNOWN_TENANT = uuid.UUID("e0000000-0000-4000-8000-00000000000e")

# The three breaks of the issue, each a single contract-valid event.
BOGUS = {
    "unknown_account": Event(UNKNOWN_TENANT, at("2026-10-07"), "bt_uk", "inbound", 1),
    "no_rule": Event(TENANT, at("2026-10-08"), "nowhere_telecom", "outbound", 1),
    "no_tier": Event(TENANT, at("1970-01-01", "00:00:01"), "orange_fr", "outbound", 1),
}


def rows(database_url: str, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, parameters).fetchall()


def blockers(database_url: str) -> dict[str, dict[str, Any]]:
    """close_blockers of the period last built, by the unpriced reason in the subject."""
    with (
        psycopg.connect(database_url) as conn,
        conn.cursor(row_factory=psycopg.rows.dict_row) as cur,
    ):
        found = cur.execute("select * from billing.close_blockers order by subject").fetchall()
    return {row["subject"].split(" ")[1]: row for row in found}


@pytest.fixture
def bogus_events(database_url: str) -> None:
    """A real tenant's valid October, and the three bogus events."""
    with psycopg.connect(database_url) as conn:
        add_account(conn, TENANT, tier="starter")
        land_events(conn, [Event(TENANT, at("2026-10-03"), "orange_fr", "outbound", 2)] * 1)
        land_events(conn, BOGUS.values())


def test_each_bogus_event_blocks_its_month_and_every_later_close_until_excluded(
    database_url: str, dbt_project: DbtProject, bogus_events: None, login: LoginFactory
) -> None:
    finance = login("billing_finance")
    for period in ("2026-10", "2026-11"):
        dbt_project.build_models(period)
        found = blockers(database_url)
        assert set(found) == set(BOGUS), period
        for reason, event in BOGUS.items():
            # The exact commands: fix the reference data, or exclude the event by its id.
            assert found[reason]["exclude_command"] == (
                f"billing events exclude {event.event_id} --reason 'why they can never be billed'"
            )
            assert found[reason]["remedy_command"].endswith(f"then: billing close --month {period}")
        assert "billing accounts import ACCOUNTS.csv" in found["unknown_account"]["remedy_command"]
        assert "billing tiers import TIERS.csv" in found["no_tier"]["remedy_command"]
        assert "pricing_rules.csv" in found["no_rule"]["remedy_command"]

    receipt = record(
        finance,
        ExclusionAction.EXCLUDE,
        [event.event_id for event in BOGUS.values()],
        reason="test traffic of a decommissioned integration",
    )
    assert receipt.recorded_by.startswith("login_finance_")

    dbt_project.build_models("2026-10")
    assert blockers(database_url) == {}
    assert rows(database_url, "select count(*) from billing.unpriced_charges") == [(0,)]
    assert rows(database_url, "select count(*) from billing.catalogue_coverage") == [(0,)]
    dbt_project.issue("2026-10")
    # The valid event is billed; no bogus event is priced or billed.
    assert rows(
        database_url,
        "select count(*), sum(quantity) from billing.issued_invoice_lines"
        " where line_type = 'usage'",
    ) == [(1, 2)]
    excluded = {str(event.event_id) for event in BOGUS.values()}
    assert rows(
        database_url,
        "select count(*) from billing.issued_invoice_events where event_id::text = any(%s)",
        list(excluded),
    ) == [(0,)]
    assert rows(
        database_url,
        "select count(*) from billing.priced_charges where event_id::text = any(%s)",
        list(excluded),
    ) == [(0,)]
    ledger = rows(
        database_url,
        "select event_id, fate, reason, exclusion_id is not null from billing.event_ledger"
        " where fate = 'excluded' order by event_id",
    )
    assert [(row[0], row[1], row[3]) for row in ledger] == [
        (i, "excluded", True) for i in sorted(excluded)
    ]
    assert {row[2] for row in ledger} == {"test traffic of a decommissioned integration"}
    dbt_project.build_models("2026-11")
    assert blockers(database_url) == {}

    # A revocation (a later row) brings the block back; nothing was deleted.
    record(finance, ExclusionAction.INCLUDE, [BOGUS["no_rule"].event_id], reason="it was real")
    dbt_project.build_models("2026-11")
    assert set(blockers(database_url)) == {"no_rule"}
    assert rows(
        database_url, "select action from billing.event_exclusions order by exclusion_id"
    ) == [
        ("exclude",),
        ("exclude",),
        ("exclude",),
        ("include",),
    ]


@pytest.mark.parametrize(
    "group", ["billing_transformer", "billing_loader", "billing_renderer", "billing_auditor"]
)
def test_only_finance_may_exclude(
    database_url: str, bogus_events: None, login: LoginFactory, group: str
) -> None:
    with pytest.raises(PermissionRefusedError, match="billing_finance"):
        record(login(group), ExclusionAction.EXCLUDE, [BOGUS["no_tier"].event_id], reason="x")
    assert rows(database_url, "select count(*) from billing.event_exclusions") == [(0,)]


def test_the_database_keeps_exclusions_append_only_and_in_the_callers_name(
    database_url: str, bogus_events: None, login: LoginFactory
) -> None:
    finance = login("billing_finance")
    event_id = BOGUS["unknown_account"].event_id
    with psycopg.connect(finance) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "insert into billing.event_exclusions (event_id, reason, excluded_by)"
            " values (%s, 'x', 'someone_else')",
            (event_id,),
        )
    # The trigger refuses what the CLI checks first, for any writer.
    with psycopg.connect(finance) as conn, pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute(
            "insert into billing.event_exclusions (event_id, reason) values (%s, 'x')",
            (uuid.uuid4(),),
        )
    with psycopg.connect(finance) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "insert into billing.event_exclusions (event_id, action, reason)"
            " values (%s, 'include', 'x')",
            (event_id,),
        )
    record(finance, ExclusionAction.EXCLUDE, [event_id], reason="bogus")
    for statement in (
        "update billing.event_exclusions set reason = 'changed'",
        "delete from billing.event_exclusions",
        "truncate billing.event_exclusions",
    ):
        # The owner (a superuser here) included.
        with (
            psycopg.connect(database_url) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute(statement)
    tenant = login("billing_tenant", tenant_id=TENANT)
    with psycopg.connect(tenant) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from billing.event_exclusions")
    assert rows(database_url, "select count(*) from billing.event_exclusions") == [(1,)]


def test_an_exclusion_is_refused_for_an_event_already_excluded_or_billed(
    database_url: str, dbt_project: DbtProject, bogus_events: None, login: LoginFactory
) -> None:
    finance = login("billing_finance")
    record(finance, ExclusionAction.EXCLUDE, [e.event_id for e in BOGUS.values()], reason="bogus")
    with pytest.raises(ExclusionRefusedError, match="excluded already"):
        record(finance, ExclusionAction.EXCLUDE, [BOGUS["no_rule"].event_id], reason="again")
    dbt_project.close("2026-10")
    [(billed,)] = rows(database_url, "select event_id from billing.issued_invoice_events")
    with pytest.raises(ExclusionRefusedError, match="void the invoice instead"):
        record(finance, ExclusionAction.EXCLUDE, [billed], reason="too late")


def test_billing_events_exclude_refuses_unknown_ids_in_one_line_and_reads_a_file(
    database_url: str, bogus_events: None, login: LoginFactory, tmp_path: Path
) -> None:
    finance = login("billing_finance")
    stranger = uuid.uuid4()
    refused = billing(
        "events",
        "exclude",
        str(BOGUS["no_tier"].event_id),
        str(stranger),
        "--reason",
        "junk",
        BILLING_DATABASE_URL=finance,
    )
    assert refused.returncode == 2
    assert f"1 of the 2 event id(s) never landed: {stranger}" in one_line(refused.stderr)
    not_an_id = billing("events", "exclude", "nope", "--reason", "x", BILLING_DATABASE_URL=finance)
    assert (not_an_id.returncode, "is not an event id" in one_line(not_an_id.stderr)) == (2, True)

    ids = tmp_path / "ids.txt"
    ids.write_text(
        "# the bogus ones\n" + "\n".join(str(e.event_id) for e in BOGUS.values()) + "\n\n"
    )
    done = billing(
        "events",
        "exclude",
        "--file",
        str(ids),
        "--reason",
        "bogus traffic",
        BILLING_DATABASE_URL=finance,
    )
    assert done.returncode == 0, done.stderr
    assert "3 event(s) excluded" in done.stdout
    assert rows(
        database_url, "select count(*), min(excluded_by), min(reason) from billing.event_exclusions"
    ) == [
        (
            3,
            rows(
                database_url, "select rolname from pg_roles where rolname like 'login_finance_%%'"
            )[0][0],
            "bogus traffic",
        )
    ]

    revoked = billing(
        "events",
        "include",
        str(BOGUS["no_tier"].event_id),
        "--reason",
        "it was real",
        BILLING_DATABASE_URL=finance,
    )
    assert revoked.returncode == 0, revoked.stderr
    assert "1 event(s) no longer excluded" in revoked.stdout


def test_billing_close_prints_the_exact_command_and_that_command_unblocks_it(
    database_url: str,
    nats_url: str,
    dbt_project: DbtProject,
    bogus_events: None,
    login: LoginFactory,
    tmp_path: Path,
) -> None:
    environment: dict[str, Any] = {
        "BILLING_DATABASE_URL": database_url,
        "BILLING_NATS_URL": nats_url,
        "BILLING_STATE_DIR": str(tmp_path / "state"),
        "BILLING_DOCUMENTS_URI": (tmp_path / "documents").as_uri(),
        # The 1970 event landed before the loader's age bound (or in a backfill that raised
        # it): the raw suite, like the loader, then accepts it, and only the blocker is left.
        "BILLING_MAX_EVENT_AGE": str(60 * 365 * 86400),
    }
    refused = billing("close", "--month", "2026-10", columns=200, timeout=300, **environment)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    commands = [
        line.strip().removeprefix("exclude:").split("  (Finance")[0].strip()
        for line in refused.stderr.splitlines()
        if line.strip().startswith("exclude: billing events exclude")
    ]
    assert len(commands) == 3, refused.stderr
    assert "to resolve (close blockers): each blocker's command below" in refused.stderr

    for command in commands:  # as Finance types them, with its own login
        argv = shlex.split(command)
        assert argv[:3] == ["billing", "events", "exclude"]
        done = billing(
            *argv[1:], **{**environment, "BILLING_DATABASE_URL": login("billing_finance")}
        )
        assert done.returncode == 0, done.stderr

    # The close goes on (the models and the issue step; the full close ran above).
    dbt_project.close("2026-10")
    assert rows(database_url, "select invoice_number from billing.issued_invoices") == [
        ("INV-202610-000001",)
    ]
    ledger = billing("ledger", "--month", "2026-10", columns=200, **environment)
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr
    assert "excluded 2" in ledger.stdout  # the 1970 event is January 1970's
    assert ": reconciles" in ledger.stdout


def test_an_exclusion_after_the_build_makes_the_issue_refuse_its_stale_drafts(
    database_url: str, dbt_project: DbtProject, bogus_events: None, login: LoginFactory
) -> None:
    finance = login("billing_finance")
    record(finance, ExclusionAction.EXCLUDE, [e.event_id for e in BOGUS.values()], reason="bogus")
    dbt_project.build_models("2026-10")
    [(valid,)] = rows(database_url, "select event_id from billing.priced_charges")
    # Finance excludes a priced event between the build and the issue.
    record(finance, ExclusionAction.EXCLUDE, [valid], reason="a test message after all")

    with pytest.raises(DbtFailedError, match="an event was excluded"):
        dbt_project.issue("2026-10")

    assert rows(database_url, "select count(*) from billing.issued_invoice_events") == [(0,)]
    dbt_project.close("2026-10")  # rebuilt: the excluded event is on no invoice
    assert rows(database_url, "select count(*) from billing.issued_invoice_events") == [(0,)]


def test_billing_ledger_lists_ids_of_a_fate_and_refuses_an_unbuilt_ledger_in_one_line(
    database_url: str, dbt_project: DbtProject, bogus_events: None
) -> None:
    unbuilt = billing("ledger", "--month", "2026-10", BILLING_DATABASE_URL=database_url)
    assert unbuilt.returncode != 0
    assert "the ledger is not built in this database" in one_line(unbuilt.stderr)

    dbt_project.build_models("2026-10")
    listed = billing(
        "ledger",
        "--month",
        "2026-10",
        "--fate",
        "unpriced",
        "--ids",
        BILLING_DATABASE_URL=database_url,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == sorted(
        str(e.event_id) for e in BOGUS.values() if e.occurred_at.year == 2026
    )
    # The 2026-10 ledger has unpriced events and an open month: it still reconciles.
    report = billing("ledger", "--month", "2026-10", BILLING_DATABASE_URL=database_url)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "unpriced 2" in report.stdout
    assert "pending 1" in report.stdout


def test_a_revocation_of_an_event_not_excluded_and_an_exclusion_without_reason_are_refused(
    database_url: str, bogus_events: None, login: LoginFactory
) -> None:
    finance = login("billing_finance")
    ids = [event.event_id for event in BOGUS.values()]
    with pytest.raises(ExclusionRefusedError, match=r"3 event\(s\) are not excluded"):
        record(finance, ExclusionAction.INCLUDE, ids, reason="never excluded")
    with pytest.raises(ExclusionRefusedError, match="needs a reason"):
        record(finance, ExclusionAction.EXCLUDE, ids, reason="  ")
    with pytest.raises(ExclusionRefusedError, match="no event id given"):
        record(finance, ExclusionAction.EXCLUDE, [], reason="nothing")
    strangers = [uuid.uuid4() for _ in range(5)]
    with pytest.raises(
        ExclusionRefusedError, match=r"5 of the 5 event id\(s\) never landed: .* and 2 more"
    ):
        record(finance, ExclusionAction.EXCLUDE, strangers, reason="unknown")
    assert rows(database_url, "select count(*) from billing.event_exclusions") == [(0,)]
