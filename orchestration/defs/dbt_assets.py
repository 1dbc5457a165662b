"""The dbt project as partitioned assets: one `dbt build` per month, its tests as asset checks.

The partition's month goes to dbt as `--vars {period: YYYY-MM}`. dbt unit tests are left to
CI (`make test`): they test the SQL, not the month's data. A failing data test fails the
step, so nothing downstream (the issue step) runs; the close_blockers test carries the list
of blockers, with their remedies, as metadata.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import psycopg
from dagster_dbt import DbtCliInvocation, DbtCliResource, dbt_assets

from billing import db
from billing.roles import Role
from orchestration.defs.dbt_project import (
    BILLING_DBT_PROJECT,
    TRANSLATOR,
    invocation_target,
    prepare_manifest,
    reuse_partial_parse,
)
from orchestration.defs.partitions import MONTHLY, ONE_MONTH_PER_RUN, period_of
from orchestration.defs.resources import (
    BillingResource,
    CloseLock,
    dbt_profile,
    dbt_profile_variables,
)
from warehouse.transform import period_vars

CLOSE_BLOCKERS = dg.AssetKey(["billing", "close_blockers"])
BUILD_ARGUMENTS = ("build", "--exclude-resource-type", "unit_test")

_BLOCKER_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("blocker", "string"),
        dg.TableColumn("subject", "string"),
        dg.TableColumn("item_count", "int"),
        dg.TableColumn("remedy", "string"),
    ]
)


def read_blockers(billing: BillingResource) -> list[dict[str, Any]]:
    """The rows of billing.close_blockers (built for the run's period)."""
    url, role = billing.role_url(Role.TRANSFORMER)
    with db.connect(url, role=role) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "select blocker, subject, item_count, remedy from billing.close_blockers"
            " order by blocker, subject"
        ).fetchall()


def _with_blockers(result: dg.AssetCheckResult, billing: BillingResource) -> dg.AssetCheckResult:
    blockers = read_blockers(billing)
    remedies = "\n".join(
        f"- **{row['blocker']}** {row['subject']} ({row['item_count']}): {row['remedy']}"
        for row in blockers
    )
    metadata = {
        **result.metadata,
        "blocker_count": dg.MetadataValue.int(len(blockers)),
        "blockers": dg.MetadataValue.table(
            records=[dg.TableRecord(row) for row in blockers], schema=_BLOCKER_SCHEMA
        ),
        "remedies": dg.MetadataValue.md(remedies or "(none listed)"),
    }
    return result._replace(
        metadata=metadata,
        description=f"{len(blockers)} close blocker(s): the month cannot be issued yet",
    )


def _failures(invocation: DbtCliInvocation) -> list[str]:
    try:
        run_results = invocation.get_artifact("run_results.json")
    except FileNotFoundError:
        return []
    return [
        f"{result['unique_id']}: {result['status']}"
        + (f" ({str(result.get('message') or '').strip()[:300]})" if result.get("message") else "")
        for result in run_results.get("results", [])
        if result.get("status") in ("error", "fail", "runtime error")
    ]


@dbt_assets(
    manifest=prepare_manifest(),
    project=BILLING_DBT_PROJECT,
    dagster_dbt_translator=TRANSLATOR,
    partitions_def=MONTHLY,
    backfill_policy=ONE_MONTH_PER_RUN,
    name="billing_dbt",
)
def billing_dbt(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    billing: BillingResource,
    close_lock: CloseLock,  # held for the whole run: closes never interleave
) -> Iterator[Any]:
    """Seeds, models and data tests of the project for the partition's month."""
    period = period_of(context.partition_key)
    url, _ = billing.role_url(Role.TRANSFORMER)
    target = invocation_target(f"close-{period}-{context.run.run_id[:8]}")
    reuse_partial_parse(target, dbt_profile_variables(url), period)
    with dbt_profile(url):
        invocation = dbt.cli(
            [*BUILD_ARGUMENTS, *period_vars(period)],
            context=context,
            raise_on_error=False,
            target_path=target,
        )
        for event in invocation.stream():
            if (
                isinstance(event, dg.AssetCheckResult)
                and event.asset_key == CLOSE_BLOCKERS
                and not event.passed
            ):
                event = _with_blockers(event, billing)
            yield event
    if not invocation.is_successful():
        failures = _failures(invocation)
        raise dg.Failure(
            description=(
                f"dbt build of {period} failed ({len(failures)} node(s)): nothing is issued. "
                + "; ".join(failures[:5])
            ),
            metadata={"failed_nodes": dg.MetadataValue.md("\n".join(f"- {f}" for f in failures))},
        )
