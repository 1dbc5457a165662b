"""The dbt project as partitioned assets: one `dbt build` per month, its tests as asset checks.

The partition's month goes to dbt as `--vars {period: YYYY-MM}`. dbt unit tests are left to
CI (`make test`): they test the SQL, not the month's data. A failing data test fails the
step, so nothing downstream (the issue step) runs; the close_blockers test carries the list
of blockers, with their remedies, as metadata.
"""

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource, dbt_assets, get_asset_key_for_model

from billing.roles import Role
from orchestration.defs.close.resources import CloseLock
from orchestration.defs.dbt.blockers import with_blockers
from orchestration.defs.dbt.project import (
    PreparedManifest,
    billing_dbt_project,
    invocation_target,
    prepare_manifest,
    reuse_partial_parse,
)
from orchestration.defs.dbt.resources import dbt_profile, dbt_profile_variables
from orchestration.defs.dbt.translator import TRANSLATOR
from orchestration.defs.partitions import MONTHLY, ONE_MONTH_PER_RUN, period_of
from orchestration.defs.resources import BillingResource
from orchestration.refusals import Refusal, refusal_metadata
from warehouse.transform import period_vars

CLOSE_BLOCKERS_MODEL = "close_blockers"
BUILD_ARGUMENTS = ("build", "--exclude-resource-type", "unit_test")


def _failed_nodes(invocation: DbtCliInvocation) -> list[dict[str, Any]]:
    try:
        run_results = invocation.get_artifact("run_results.json")
    except FileNotFoundError:
        return []
    return [
        result
        for result in run_results.get("results", [])
        if result.get("status") in ("error", "fail", "runtime error")
    ]


def _describe(result: Mapping[str, Any]) -> str:
    message = str(result.get("message") or "").strip()[:300]
    return f"{result['unique_id']}: {result['status']}" + (f" ({message})" if message else "")


def _build_failure(period: str, invocation: DbtCliInvocation) -> dg.Failure:
    """Why the build failed: failed tests only are a refusal (their checks say which); a
    model, seed or test that errored is an error."""
    nodes = _failed_nodes(invocation)
    failures = [_describe(node) for node in nodes]
    tests_failed = bool(nodes) and all(node.get("status") == "fail" for node in nodes)
    return dg.Failure(
        description=(
            f"dbt build of {period} failed ({len(failures)} node(s)): nothing is issued. "
            + "; ".join(failures[:5])
        ),
        metadata={
            "failed_nodes": dg.MetadataValue.md("\n".join(f"- {f}" for f in failures)),
            **(refusal_metadata(Refusal.FAILED_CHECKS) if tests_failed else {}),
        },
    )


def billing_dbt_assets() -> dg.AssetsDefinition:
    """The dbt assets of the project as it is now: its manifest prepared (parsed only if the
    project changed, project.py), the assets built once per manifest and process."""
    return _billing_dbt(prepare_manifest())


@cache
def _billing_dbt(manifest: PreparedManifest) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=manifest.content,
        project=billing_dbt_project(),
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
        yield from build_month(context, dbt, billing)

    return billing_dbt


def build_month(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, billing: BillingResource
) -> Iterator[Any]:
    """`dbt build` of the partition's month, streamed; the close_blockers test with its list."""
    period = period_of(context.partition_key)
    close_blockers = get_asset_key_for_model([context.assets_def], CLOSE_BLOCKERS_MODEL)
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
                and event.asset_key == close_blockers
                and not event.passed
            ):
                event = with_blockers(event, billing)
            yield event
    if not invocation.is_successful():
        raise _build_failure(period, invocation)


def source_specs(exclude: set[dg.AssetKey]) -> list[dg.AssetSpec]:
    """External assets for the dbt sources (reference data, issued tables), with their
    descriptions, so the lineage shows what the models read; `exclude` are defined elsewhere."""
    specs = []
    for source in prepare_manifest().content.get("sources", {}).values():
        key = TRANSLATOR.get_asset_key(source)
        if key in exclude:
            continue
        specs.append(
            dg.AssetSpec(
                key=key,
                description=(source.get("description") or "").strip() or None,
                group_name=TRANSLATOR.get_group_name(source),
                kinds={"postgres"},
                metadata={"relation": f"{source['schema']}.{source['name']}"},
            )
        )
    return sorted(specs, key=lambda spec: spec.key.to_user_string())
