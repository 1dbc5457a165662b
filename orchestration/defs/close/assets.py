"""Step (c) of the close: the issue step.

issued_invoices runs the dbt macro issue_invoices (one transaction: numbers the drafts and
appends them to the issued tables, refusing stale drafts and any blocker). It runs only once
the dbt build and every blocking check on the drafts passed.
"""

from decimal import Decimal
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, get_asset_key_for_model

from billing import db
from billing.roles import Role
from orchestration.defs.close.resources import CloseLock
from orchestration.defs.dbt.project import billing_dbt_project, invocation_target
from orchestration.defs.dbt.resources import dbt_profile
from orchestration.defs.partitions import MONTHLY, ONE_MONTH_PER_RUN, period_of
from orchestration.defs.resources import BillingResource
from orchestration.refusals import Refusal, refusal_metadata
from warehouse.transform import issue_arguments, period_vars

# [schema, name], as dagster-dbt names the models (billing/invoice_drafts, ...).
ISSUED_INVOICES = dg.AssetKey(["billing", "issued_invoices"])
# The dbt models the issue macro reads (macros/issue/issue_invoices.sql): its upstream.
ISSUE_READS = (
    "invoice_drafts",
    "invoice_draft_lines",
    "invoice_draft_events",
    "int_draft_usage_quantities",
    "int_charges_priced",
    "int_invoiceable_charges",
    "close_blockers",
)


def _issued(billing: BillingResource, period: str) -> dict[str, tuple[str, Decimal]]:
    url, role = billing.role_url(Role.TRANSFORMER)
    with db.connect(url, role=role) as conn:
        rows = conn.execute(
            "select invoice_number, currency, total from billing.issued_invoices where period = %s",
            (period,),
        ).fetchall()
    return {str(number): (str(currency), Decimal(str(total))) for number, currency, total in rows}


def _last_close(billing: BillingResource, period: str) -> tuple[Any, ...] | None:
    url, role = billing.role_url(Role.TRANSFORMER)
    with db.connect(url, role=role) as conn:
        return conn.execute(
            "select close_id, kind, closed_at, invoice_count, event_count"
            " from billing.period_closes where period = %s order by close_id desc limit 1",
            (period,),
        ).fetchone()


def _guard_refused(problems: list[dict[str, Any]]) -> bool:
    """The issue macro's guard refused (a PL/pgSQL RAISE: stale drafts, blockers)?

    dbt reports the database's error as text only; PostgreSQL's context line of a RAISE
    statement is what sets a refusal apart from a broken connection or a failed insert.
    """
    return any(
        problem["info"].get("name") == "RunningOperationCaughtError"
        and " at RAISE" in str(problem.get("data", {}).get("exc", ""))
        for problem in problems
    )


def _issue_failure(period: str, problems: list[dict[str, Any]]) -> dg.Failure:
    messages = " ".join(str(problem["info"].get("msg", "")).strip() for problem in problems[-3:])
    if _guard_refused(problems):
        return dg.Failure(
            description=f"the issue of {period} was refused, nothing issued: {messages}",
            metadata=refusal_metadata(Refusal.ISSUE_REFUSED),
        )
    return dg.Failure(description=f"the issue of {period} failed, nothing issued: {messages}")


def _totals_markdown(issued: dict[str, tuple[str, Decimal]]) -> str:
    per_currency: dict[str, tuple[int, Decimal]] = {}
    for currency, total in issued.values():
        count, amount = per_currency.get(currency, (0, Decimal("0")))
        per_currency[currency] = (count + 1, amount + total)
    rows = ["| currency | invoices | total |", "| --- | ---: | ---: |"]
    rows += [
        f"| {currency} | {count} | {amount:.2f} |"
        for currency, (count, amount) in sorted(per_currency.items())
    ]
    return "\n".join(rows)


def issued_invoices_asset(dbt_assets: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """The issue step, downstream of the models of `dbt_assets` that the issue macro reads."""

    @dg.asset(
        key=ISSUED_INVOICES,
        deps=[get_asset_key_for_model([dbt_assets], model) for model in ISSUE_READS],
        partitions_def=MONTHLY,
        backfill_policy=ONE_MONTH_PER_RUN,
        group_name="invoicing",
        kinds={"dbt", "postgres"},
        description=(
            "The issue step (SPEC section 4, step c): the month's drafts numbered "
            "INV-YYYYMM-NNNNNN and appended to billing.issued_invoices, issued_invoice_lines and "
            "issued_invoice_events in one transaction (dbt macro issue_invoices). Issued rows are "
            "never rebuilt: closing a closed month again issues nothing new (only replacements "
            "of voided invoices)."
        ),
    )
    def issued_invoices(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        billing: BillingResource,
        close_lock: CloseLock,  # held for the whole run: closes never interleave
    ) -> dg.MaterializeResult[None]:
        """Issue the partition's drafts in one transaction."""
        period = period_of(context.partition_key)
        before = _issued(billing, period)
        url, _ = billing.role_url(Role.TRANSFORMER)
        settings = billing.settings()
        with dbt_profile(url):
            invocation = dbt.cli(
                [
                    "run-operation",
                    "issue_invoices",
                    *issue_arguments(settings.issuer, settings.tax),
                    *period_vars(period),
                ],
                manifest=billing_dbt_project().manifest_path,
                raise_on_error=False,
                # The build's folder: its partial parse (same vars) spares a full parse.
                target_path=invocation_target(f"close-{period}-{context.run.run_id[:8]}"),
            )
            problems = [
                event.raw_event
                for event in invocation.stream_raw_events()
                if event.raw_event["info"].get("level") in ("warn", "error")
            ]
        if not invocation.is_successful():
            raise _issue_failure(period, problems)
        after = _issued(billing, period)
        new = {number: value for number, value in after.items() if number not in before}
        close = _last_close(billing, period)
        numbers = sorted(new)
        metadata: dict[str, Any] = {
            "period": dg.MetadataValue.text(period),
            "invoices_issued": dg.MetadataValue.int(len(new)),
            "invoices_of_period": dg.MetadataValue.int(len(after)),
            "numbers": dg.MetadataValue.text(f"{numbers[0]} .. {numbers[-1]}" if numbers else "-"),
            "totals": dg.MetadataValue.md(_totals_markdown(new)),
        }
        if close is not None:
            metadata["close_kind"] = dg.MetadataValue.text(str(close[1]))
            metadata["closed_at"] = dg.MetadataValue.text(str(close[2]))
            metadata["events_billed"] = dg.MetadataValue.int(int(close[4]) if new else 0)
        if not new:
            context.log.info(f"{period}: nothing new to issue ({len(after)} invoice(s) already)")
        return dg.MaterializeResult(metadata=metadata)

    return issued_invoices
