"""The raw domain: the landed events as an observed source, and their suite."""

import dagster as dg

from orchestration.defs.raw.assets import raw_message_charged
from orchestration.defs.raw.checks import raw_events_check
from orchestration.defs.resources import BillingResource


def raw_definitions(billing: BillingResource) -> dg.Definitions:
    """The observed raw table and its blocking suite."""
    return dg.Definitions(
        assets=[raw_message_charged],
        asset_checks=[raw_events_check],
        resources={"billing": billing},
    )
