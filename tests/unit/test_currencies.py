"""billing.currencies agrees with the ISO 4217 seed the SQL rounds with."""

from __future__ import annotations

import csv
from pathlib import Path

from billing import currencies

SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "iso_4217_currencies.csv"


def test_minor_units_match_the_catalogue_seed() -> None:
    with SEED.open(newline="") as seed:
        rows = {row["currency"]: int(row["minor_units"]) for row in csv.DictReader(seed)}
    assert {code: currencies.minor_units(code) for code in rows} == rows
    assert currencies.minor_units("jpy") == 0
    assert currencies.currencies_with_places(3) == ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")
