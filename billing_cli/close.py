"""`billing close --month YYYY-MM`: the monthly close through Dagster."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from billing import localservices
from billing.db import role_url
from billing.errors import BillingError, RefusedError
from billing.issued import CurrencyTotal
from billing.money import format_amount
from billing.periods import Period
from billing.roles import Role
from billing.settings import Settings, load_settings
from billing_cli import output
from billing_cli.app import EXIT_FAILED, EXIT_REFUSED, app, console, error_console, print_error
from billing_cli.options import Month
from finance.invoices import period_totals

if TYPE_CHECKING:  # orchestration imports Dagster (a second): only when closing
    from orchestration.closing import CloseOutcome
    from orchestration.loader_progress import LoaderProgress

RUNBOOK = "docs/runbooks/close.md"


def _loader_table(progress: LoaderProgress) -> Table:
    table = Table(title="Loader behind: close refused", show_header=False)
    table.add_row("stream last sequence at start", str(progress.target_sequence))
    table.add_row("loader high-water mark", str(progress.high_water_mark))
    table.add_row("behind by", str(progress.behind_by))
    table.add_row(
        "consumer pending / ack pending",
        f"{progress.stream.pending} / {progress.stream.ack_pending}",
    )
    table.add_row("waited", f"{progress.waited_seconds:.0f} s")
    return table


def _wait_for_loader(
    settings: Settings, endpoints: localservices.Endpoints, period: Period
) -> None:
    from orchestration.loader_progress import LoaderBehindError, wait_for_loader

    url, role = role_url(settings, endpoints.database_url, Role.TRANSFORMER)
    with console.status("checking that the loader has landed the whole stream") as status:

        def show(progress: LoaderProgress) -> None:
            if not progress.caught_up:
                status.update(f"waiting for the loader: {progress.summary()}")

        try:
            progress = wait_for_loader(
                endpoints.nats_url,
                url,
                role=role,
                timeout_seconds=settings.close_wait_seconds,
                on_poll=show,
            )
        except LoaderBehindError as behind:
            error_console.print(_loader_table(behind.progress))
            print_error(str(behind), label="refused")
            _record_refused_before_run(settings, period, behind.progress)
            raise typer.Exit(EXIT_REFUSED) from None
    console.print(f"loader caught up: {progress.summary()}")


def _record_refused_before_run(
    settings: Settings, period: Period, progress: LoaderProgress
) -> None:
    """A close refused before its Dagster run is still a close run in billing.close_runs."""
    from orchestration.closing import record_refused_before_run
    from orchestration.defs.resources import BillingResource
    from orchestration.refusals import Refusal

    billing = BillingResource(close_wait_seconds=settings.close_wait_seconds)
    record_refused_before_run(billing, period.label, progress.waited_seconds, Refusal.LOADER_BEHIND)


def _print_success(outcome: CloseOutcome, totals: list[CurrencyTotal]) -> None:
    issued = outcome.issued
    count = int(issued.get("invoices_issued", 0))
    if count:
        console.print(
            f"[bold green]{outcome.period} closed:[/] {count} invoice(s) issued "
            f"({issued.get('numbers')}), {issued.get('events_billed', 0)} events billed"
        )
    else:
        console.print(
            f"[bold]{outcome.period} was closed already:[/] nothing new to issue "
            f"({issued.get('invoices_of_period', 0)} invoice(s) of the period stand)"
        )
    table = output.table(f"{outcome.period}: issued, not void")
    for column in ("currency", "invoices", "total"):
        table.add_column(column, justify="right" if column != "currency" else "left")
    for total in totals:
        table.add_row(
            total.currency, str(total.invoices), format_amount(total.total, total.currency)
        )
    console.print(table)
    documents, events = outcome.documents, outcome.events
    if documents:
        console.print(
            f"documents: {documents.get('documents_recorded', 0)} recorded "
            f"under {documents.get('documents_uri')}"
        )
    if events:
        console.print(f"events: {events.get('marked_published', 0)} published to NATS")


def _print_refusal(outcome: CloseOutcome) -> None:
    if outcome.blockers:
        table = Table(title=f"Close blockers of {outcome.period}: what to do")
        for column in ("blocker", "subject", "count", "remedy"):
            table.add_column(column)
        for row in outcome.blockers:
            table.add_row(
                str(row.get("blocker")),
                str(row.get("subject")),
                str(row.get("item_count")),
                str(row.get("remedy")),
            )
        error_console.print(table)
        # The exact commands, whole (a table would cut them): from the model's typed
        # columns, never derived from the remedy's text.
        for row in outcome.blockers:
            error_console.print(
                f"{row.get('blocker')} {row.get('subject')}:", soft_wrap=True, markup=False
            )
            error_console.print(
                f"  fix:     {row.get('remedy_command')}", soft_wrap=True, markup=False
            )
            if row.get("exclude_command"):
                error_console.print(
                    f"  exclude: {row.get('exclude_command')}  (Finance, own login: events "
                    "that can never be billed)",
                    soft_wrap=True,
                    markup=False,
                )
    if outcome.failed_checks:
        table = Table(title="Failed checks")
        for column in ("asset", "check", "what failed"):
            table.add_column(column)
        for check in outcome.failed_checks:
            table.add_row(check.asset, check.name, check.description[:400])
        error_console.print(table)
    for failure in outcome.failures:
        error_console.print(f"[red]-[/] {failure[:600]}")
    for kind in outcome.refusals:
        error_console.print(
            f"to resolve ({kind.label}): {kind.remedy(outcome.period)}",
            soft_wrap=True,
            markup=False,
        )


@app.command()
def close(
    month: Month,
    wait_seconds: Annotated[
        float | None,
        typer.Option(
            "--wait-seconds",
            help="How long to wait for the loader to catch up "
            "(default BILLING_CLOSE_WAIT_SECONDS, 60).",
        ),
    ] = None,
) -> None:
    """Close a month: checks, issue in one transaction, PDFs, events (a Dagster run).

    Waits for the loader to land the whole stream, then dbt build with its tests, Great
    Expectations suites, the issue step, documents and events; the run is in `billing ui`.
    Exit 0 when closed (or nothing new to issue), 2 when refused (loader behind, blockers,
    failed checks, another close running, issue refused), 1 on any other failure.
    """
    from orchestration.defs.partitions import partition_key_of

    settings = load_settings()
    if wait_seconds is not None:
        settings = settings.with_overrides(close_wait_seconds=wait_seconds)
    try:
        partition_key_of(month)
    except BillingError as not_closable:  # not over yet, or before the first period
        raise RefusedError(str(not_closable)) from None
    endpoints = localservices.resolve_endpoints(settings)
    _wait_for_loader(settings, endpoints, month)

    from orchestration.closing import dagster_instance, run_close
    from orchestration.definitions import build_definitions
    from orchestration.defs.resources import BillingResource

    defs = build_definitions(BillingResource(close_wait_seconds=settings.close_wait_seconds))
    logs = settings.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / f"close-{month}-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    with console.status(
        f"closing {month} through Dagster: dbt build and tests, checks, issue, documents, events"
    ):
        outcome = run_close(defs, month.label, dagster_instance(settings), log_file=log_file)
    console.print(f"Dagster run {outcome.run_id} (log: {log_file})")
    if outcome.success:
        _print_success(outcome, period_totals(settings, endpoints.database_url, month))
        return
    _print_refusal(outcome)
    # A refusal is data (outcome.refusals, orchestration/refusals.py): never read from text.
    verdict = (
        "refused (" + ", ".join(kind.label for kind in outcome.refusals) + ")"
        if outcome.refused
        else "failed"
    )
    print_error(
        f"nothing was issued unless listed above. Fix the causes and run "
        f"`billing close --month {month}` again (see {RUNBOOK}).",
        label=f"close of {month} {verdict}",
    )
    raise typer.Exit(EXIT_REFUSED if outcome.refused else EXIT_FAILED)
