"""Close-side faults (issue 18, section 5, scenarios 6 to 8), against real processes.

(6) a close killed (SIGKILL, with its database backend terminated where it holds the issue
    transaction) during the dbt build, the issue, the documents and the events, then rerun;
(7) late events landed after a close go onto the next close, once;
(8) two, then three closes of one month at once (concurrent issue transactions, the second
    round re-closing a void that requires its replacement).

Each ends with the ledger reconciling, 0 events lost, 0 billed twice, numbers gapless, and
prints the figures of the issue's note ("scenario: sent N, faults F, lost 0, doubled 0,
ledger: ..."). Sizes scale with FAULT_SCALE (default 1); every wait is bounded.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from billing.settings import INVOICE_STREAM
from finance.invoices import void_invoice
from finance.ledger import Fate
from tests.conftest import LoginFactory
from tests.support.cli import billing
from tests.support.close_faults import (
    FAULT_SCALE,
    Sent,
    add_accounts,
    billing_process,
    dbt_process,
    documents_in,
    end_state,
    issue_backend_active,
    issue_process,
    kill_when,
    land,
    ledger,
    month_events,
    outputs,
    published,
    report,
    tenants,
    terminate_issue_backends,
)
from tests.support.dbt import DbtProject

PERIOD = "2026-10"
TENANTS = 10 * FAULT_SCALE
PER_TENANT = 60


def issued_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("select count(*) from billing.issued_invoices").fetchone()
    return int(row[0]) if row else -1


@pytest.fixture
def environment(database_url: str, nats_url: str, tmp_path: Path) -> dict[str, str]:
    """What `billing invoices render | publish` read, as the close passes it."""
    return {
        "BILLING_DATABASE_URL": database_url,
        "BILLING_NATS_URL": nats_url,
        "BILLING_STATE_DIR": str(tmp_path / "state"),
        "BILLING_DOCUMENTS_URI": (tmp_path / "documents").as_uri(),
    }


def test_6_a_close_killed_at_each_step_then_rerun_issues_everything_once(
    database_url: str,
    nats_url: str,
    dbt_project: DbtProject,
    environment: dict[str, str],
    tmp_path: Path,
) -> None:
    tenant_ids = tenants(TENANTS)
    add_accounts(database_url, tenant_ids)
    sent = Sent()
    events = month_events(tenant_ids, PERIOD, PER_TENANT)
    land(database_url, sent, events, duplicate_every=25, reject_every=100)
    faults = 0

    # During the dbt build: as the per-event pricing model starts.
    build = kill_when(
        "dbt build",
        dbt_process(
            database_url,
            tmp_path / "dbt-build",
            ["build", "--exclude-resource-type", "unit_test"],
            PERIOD,
        ),
        lambda output: "int_charges_priced" in output,
    )
    assert build.killed, outputs(build)
    faults += 1
    assert issued_count(database_url) == 0

    # During the issue: inside its transaction (the lock held), the client killed and its
    # backend terminated, as when the close's machine dies. All or nothing.
    dbt_project.build_models(PERIOD)
    issue = kill_when(
        "issue",
        issue_process(database_url, tmp_path / "dbt-issue", PERIOD),
        issue_backend_active(database_url),
        poll_seconds=0.005,
    )
    terminated = terminate_issue_backends(database_url)
    faults += int(issue.killed) + terminated
    after_kill = issued_count(database_url)
    assert after_kill in (0, TENANTS), outputs(issue)
    notes = [
        "build killed at int_charges_priced",
        f"issue {'killed' if issue.killed else 'ended'} in its transaction, {terminated} backend(s)"
        f" terminated, {'committed' if after_kill else 'rolled back'}",
    ]

    # The rerun: the drafts are still current when the issue rolled back; otherwise the
    # close rebuilds them (and issues nothing new).
    if after_kill:
        dbt_project.build_models(PERIOD)
    dbt_project.issue(PERIOD)
    assert issued_count(database_url) == TENANTS

    # During the documents: after the first PDF is stored.
    documents = tmp_path / "documents"
    render = kill_when(
        "render",
        billing_process(["invoices", "render", "--month", PERIOD, "--workers", "1"], environment),
        lambda _: bool(documents_in(documents)),
    )
    faults += int(render.killed)
    notes.append(f"render killed after {len(documents_in(documents))} of {TENANTS} PDFs")
    rerender = billing_process(
        ["invoices", "render", "--month", PERIOD, "--workers", "1"], environment
    )
    assert rerender.wait(timeout=240) == 0, rerender.communicate()[0]

    # During the events: after the first is in the stream.
    publish = kill_when(
        "publish",
        billing_process(["invoices", "publish"], environment),
        lambda _: published(nats_url, INVOICE_STREAM) > 0,
    )
    faults += int(publish.killed)
    notes.append(
        f"publish {'killed' if publish.killed else 'ended'} after"
        f" {published(nats_url, INVOICE_STREAM)} of {TENANTS} events"
    )
    republish = billing_process(["invoices", "publish"], environment)
    assert republish.wait(timeout=240) == 0, republish.communicate()[0]

    state = end_state(database_url, sent, [PERIOD])
    assert (state.lost, state.doubled, state.numbers_gapless) == (0, 0, True)
    assert (state.invoices, state.documents, state.outbox) == (TENANTS, TENANTS, TENANTS)
    assert published(nats_url, INVOICE_STREAM) == TENANTS  # one event per invoice
    assert len(documents_in(documents)) == TENANTS
    reconciliation = ledger(database_url, PERIOD)
    assert reconciliation.reconciles, reconciliation.line()
    assert reconciliation.count(Fate.INVOICED) == len(sent.events)
    assert reconciliation.count(Fate.DUPLICATE) == sent.duplicates
    assert reconciliation.stream.rejected == sent.rejected
    report(f"close killed ({'; '.join(notes)})", sent, faults, state, reconciliation.line())


def test_7_late_events_after_a_close_are_billed_once_by_the_next_close(
    database_url: str, dbt_project: DbtProject
) -> None:
    tenant_ids = tenants(TENANTS)
    add_accounts(database_url, tenant_ids)
    sent = Sent()
    land(database_url, sent, month_events(tenant_ids, "2026-09", PER_TENANT), duplicate_every=20)
    dbt_project.close("2026-09")

    late = month_events(tenant_ids[: max(1, TENANTS // 2)], "2026-09", 15, day_offset=5)
    land(database_url, sent, late, duplicate_every=5)
    land(database_url, sent, month_events(tenant_ids, PERIOD, PER_TENANT // 2))
    dbt_project.build_models(PERIOD)
    waiting = ledger(database_url, "2026-09")
    assert waiting.reconciles, waiting.line()
    assert waiting.count(Fate.LATE) == len(late)
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "select distinct reason from billing.event_ledger where fate = 'late'"
        ).fetchall() == [("awaiting the next close",)]

    dbt_project.issue(PERIOD)

    september, october = ledger(database_url, "2026-09"), ledger(database_url, PERIOD)
    assert september.reconciles, september.line()
    assert october.reconciles, october.line()
    assert september.count(Fate.LATE) == len(late)
    assert september.count(Fate.INVOICED) == len(sent.events) - len(late) - october.distinct
    with psycopg.connect(database_url) as conn:
        late_invoices = conn.execute(
            "select distinct left(invoice_number, 10) from billing.event_ledger where fate = 'late'"
        ).fetchall()
        late_lines = conn.execute(
            "select sum(quantity) from billing.issued_invoice_lines where line_type = 'late_usage'"
        ).fetchone()
    assert late_invoices == [("INV-202610",)]
    assert late_lines == (sum(event.segments for event in late),)
    state = end_state(database_url, sent, ["2026-09", PERIOD])
    assert (state.lost, state.doubled, state.numbers_gapless) == (0, 0, True)
    report("late events after a close", sent, len(late), state, september.line())


def test_8_two_then_three_closes_of_one_month_at_once_issue_once(
    database_url: str, dbt_project: DbtProject, login: LoginFactory, tmp_path: Path
) -> None:
    tenant_ids = tenants(TENANTS)
    add_accounts(database_url, tenant_ids)
    sent = Sent()
    land(database_url, sent, month_events(tenant_ids, PERIOD, PER_TENANT), duplicate_every=30)
    dbt_project.build_models(PERIOD)

    def at_once(count: int, name: str) -> list[int]:
        processes = [
            issue_process(database_url, tmp_path / f"{name}-{index}", PERIOD)
            for index in range(count)
        ]
        codes = [process.wait(timeout=240) for process in processes]
        for process in processes:
            assert process.stdout is not None
            process.stdout.close()
        return codes

    two = at_once(2, "two")
    assert two.count(0) >= 1, two
    assert issued_count(database_url) == TENANTS

    # Three re-closes at once of a month with a void that requires its replacement.
    void_invoice(
        login("billing_finance"),
        "INV-202610-000003",
        reason="fault test",
        replacement_required=True,
    )
    dbt_project.build_models(PERIOD)
    three = at_once(3, "three")
    assert three.count(0) >= 1, three
    with psycopg.connect(database_url) as conn:
        replacements = conn.execute(
            "select invoice_number, replaces_invoice_number from billing.issued_invoices"
            " where replaces_invoice_number is not null"
        ).fetchall()
    assert replacements == [(f"INV-202610-{TENANTS + 1:06d}", "INV-202610-000003")]

    state = end_state(database_url, sent, [PERIOD])
    assert (state.lost, state.doubled, state.numbers_gapless) == (0, 0, True)
    reconciliation = ledger(database_url, PERIOD)
    assert reconciliation.reconciles, reconciliation.line()
    assert reconciliation.count(Fate.INVOICED) == len(sent.events)
    report(
        "two and three closes at once",
        sent,
        len(two) + len(three) - 2,
        state,
        reconciliation.line(),
    )


def test_the_ledger_does_not_reconcile_when_a_stream_sequence_is_lost(
    database_url: str, dbt_project: DbtProject
) -> None:
    """The reconciliation can fail: a sequence neither landed nor rejected is a lost message."""
    tenant_ids = tenants(2)
    add_accounts(database_url, tenant_ids)
    sent = Sent()
    land(database_url, sent, month_events(tenant_ids, PERIOD, 3))
    with psycopg.connect(database_url) as conn:  # sequence 7 never arrives; 8 does
        conn.execute(
            "insert into raw.message_charged (stream_sequence, subject, event_id, event_type,"
            " occurred_at, tenant_id, message_id, operator_id, direction, segments, payload)"
            " select 8, subject, gen_random_uuid(), event_type, occurred_at, tenant_id,"
            " message_id, operator_id, direction, segments, payload"
            " from raw.message_charged where stream_sequence = 6"
        )
    dbt_project.close(PERIOD)

    reconciliation = ledger(database_url, PERIOD)

    assert not reconciliation.reconciles
    assert reconciliation.problems == ["1 stream sequence(s) neither landed nor rejected"]
    assert "DOES NOT RECONCILE" in reconciliation.line()
    done = billing("ledger", "--month", PERIOD, BILLING_DATABASE_URL=database_url)
    assert done.returncode == 1
    assert (
        "the ledger of 2026-10 does not reconcile: 1 stream sequence(s) neither landed nor "
        "rejected" in " ".join(done.stderr.split())
    )
