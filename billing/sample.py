"""The sample domain: tiers, operators and currencies the demo catalogues cover.

The generators of sample accounts and events (`billing publish-sample`) draw from these, and
the Finance seed catalogues in dbt_project/seeds/ cover every combination of them.
"""

from __future__ import annotations

import uuid

TIERS = ("starter", "business", "enterprise")
CURRENCIES = ("EUR", "USD", "GBP")
DIRECTIONS = ("outbound", "inbound")
# operator_id -> ISO 3166-1 country of the handsets it serves
OPERATORS = {
    "orange_fr": "FR",
    "sfr_fr": "FR",
    "vodafone_de": "DE",
    "telekom_de": "DE",
    "telefonica_es": "ES",
    "tim_it": "IT",
    "bt_uk": "GB",
    "ee_uk": "GB",
    "att_us": "US",
    "verizon_us": "US",
}

SAMPLE_NAMESPACE = uuid.UUID("6f1c2d3e-4b5a-4c6d-9e8f-0a1b2c3d4e5f")


def sample_tenant_id(index: int) -> uuid.UUID:
    """The id of sample tenant number `index` (stable across runs and machines)."""
    return uuid.uuid5(SAMPLE_NAMESPACE, f"sample-tenant-{index:05d}")
