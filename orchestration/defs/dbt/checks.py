"""The drafts suite: a blocking check on the invoice drafts that gates the issue step.

Beside it, every dbt data test of the project is a check of its model (the translator's
`enable_asset_checks`), run by the same `dbt build`.
"""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from expectations.suites import invoice_drafts_suite
from orchestration.defs.gx import suite_check
from orchestration.defs.partitions import MONTHLY, period_of
from orchestration.defs.resources import BillingResource


def invoice_drafts_check(dbt_assets: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """The suite as a check of the invoice_drafts model of `dbt_assets`."""

    @dg.asset_check(
        asset=get_asset_key_for_model([dbt_assets], "invoice_drafts"),
        name="invoice_drafts_suite",
        blocking=True,
        partitions_def=MONTHLY,
        description=(
            "Great Expectations: the month's drafts reconcile (subtotal = sum of draft lines, "
            "total = subtotal, line counts agree) and carry no negative amount."
        ),
    )
    def invoice_drafts_suite_check(
        context: dg.AssetCheckExecutionContext, billing: BillingResource
    ) -> dg.AssetCheckResult:
        """GX suite invoice_drafts for the partition's month."""
        return suite_check(billing, invoice_drafts_suite(period_of(context.partition_key)))

    return invoice_drafts_suite_check
