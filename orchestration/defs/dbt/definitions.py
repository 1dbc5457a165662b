"""The dbt domain: the partitioned build with its tests as checks, the sources it reads, the
drafts suite, and the dbt CLI resource."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.dbt.assets import source_specs
from orchestration.defs.dbt.checks import invoice_drafts_check
from orchestration.defs.raw.assets import RAW_EVENTS
from orchestration.defs.resources import BillingResource


def dbt_definitions(
    billing: BillingResource, dbt: DbtCliResource, dbt_assets: dg.AssetsDefinition
) -> dg.Definitions:
    """`dbt_assets` (billing_dbt_assets()) with the sources it reads and the drafts suite; the
    raw table is the raw domain's observed source."""
    return dg.Definitions(
        assets=[*source_specs(exclude={RAW_EVENTS}), dbt_assets],
        asset_checks=[invoice_drafts_check(dbt_assets)],
        resources={"billing": billing, "dbt": dbt},
    )
