"""How dbt nodes become Dagster assets: keys are dbt names, groups follow the dbt layers
(marts: their folder)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

LAYER_GROUPS = ("staging", "intermediate")
# Marts are grouped by what they are for: their folder under models/marts/ (invoicing,
# pricing, close), "marts" for one outside any folder.
MARTS_LAYER = "marts"
SOURCE_GROUPS = {"raw": "raw", "ref": "reference", "issued": "issued"}


class BillingDbtTranslator(DagsterDbtTranslator):
    """Asset keys are dbt names (sources: [source, table]); staging and intermediate models are
    grouped by layer, marts by their folder (invoicing, pricing, close), and the Finance seeds
    are the catalogue group."""

    def __init__(self) -> None:
        # dbt source tests stay observations: a dbt test on raw.message_charged as a check of
        # the dbt step would exempt that step from the blocking GX checks on the raw table.
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        resource_type = dbt_resource_props.get("resource_type")
        if resource_type == "seed":
            return "catalogue"
        if resource_type == "source":
            return SOURCE_GROUPS.get(str(dbt_resource_props.get("source_name")), "sources")
        fqn = dbt_resource_props.get("fqn") or []
        if len(fqn) >= 3 and fqn[1] in LAYER_GROUPS:
            return str(fqn[1])
        if len(fqn) >= 3 and fqn[1] == MARTS_LAYER:
            return str(fqn[2]) if len(fqn) >= 4 else MARTS_LAYER
        return super().get_group_name(dbt_resource_props)


TRANSLATOR = BillingDbtTranslator()
