"""The dbt domain: the partitioned build with its tests as checks, the sources it reads, the
drafts suite, and the dbt CLI resource."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.dbt.assets import billing_dbt, source_specs
from orchestration.defs.dbt.checks import invoice_drafts_check
from orchestration.defs.dbt.project import BILLING_DBT_PROJECT
from orchestration.defs.raw.assets import RAW_EVENTS
from orchestration.defs.resources import BillingResource


def dbt_definitions(billing: BillingResource, dbt: DbtCliResource) -> dg.Definitions:
    """The dbt assets (the raw table is the raw domain's observed source)."""
    return dg.Definitions(
        assets=[
            *source_specs(BILLING_DBT_PROJECT.manifest_path, exclude={RAW_EVENTS}),
            billing_dbt,
        ],
        asset_checks=[invoice_drafts_check],
        resources={"billing": billing, "dbt": dbt},
    )
