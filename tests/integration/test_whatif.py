"""`billing whatif` (issue 21): a month's traffic re-priced with proposed catalogues by the
close's own models in scratch schemas. A 10% price rise on one operator gives exactly the
per-tenant deltas its lines imply, and leaves every relation of the database as it was; bad
proposals are refused with their rows, and nothing is left behind."""

from __future__ import annotations

import csv
import io
import subprocess
import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg

from billing.settings import PROJECT_ROOT
from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.cli import billing
from tests.support.dbt import DbtProject

STARTER = uuid.UUID("a1000000-0000-4000-8000-0000000000a1")
AMERICAN = uuid.UUID("a2000000-0000-4000-8000-0000000000a2")
ELSEWHERE = uuid.UUID("a3000000-0000-4000-8000-0000000000a3")
SEEDS = PROJECT_ROOT / "dbt_project" / "seeds"
RISEN = "orange_fr"
# Every table and view of the schemas a what-if must not touch, with a checksum of its rows.
RELATIONS = """
    select table_schema, table_name from information_schema.tables
    where table_schema in ('raw', 'ref', 'catalogue', 'staging', 'intermediate', 'billing')
    order by 1, 2
"""


def checksums(url: str) -> dict[str, str]:
    sums = {}
    with psycopg.connect(url) as conn:
        for schema, name in conn.execute(RELATIONS).fetchall():
            row = conn.execute(
                f"select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))"
                f' from "{schema}"."{name}" as t'
            ).fetchone()
            assert row is not None
            sums[f"{schema}.{name}"] = f"{row[0]}:{row[1]}"
    return sums


def scratch_schemas(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select nspname from pg_namespace where nspname like 'scratch%' order by 1"
        ).fetchall()
    return [str(name) for (name,) in rows]


def month(url: str, dbt_project: DbtProject) -> None:
    with psycopg.connect(url) as conn:
        add_account(conn, STARTER, name="Starter Ltd")
        add_account(conn, AMERICAN, currency="USD", tier="business", name="American Inc")
        add_account(conn, ELSEWHERE, name="Elsewhere SA")
        land_events(
            conn,
            [
                Event(STARTER, at("2026-10-03"), segments=3),
                Event(STARTER, at("2026-10-04"), "orange_fr", "inbound", 7),
                Event(STARTER, at("2026-10-05"), "sfr_fr", "outbound", 2),
                Event(AMERICAN, at("2026-10-08"), segments=11),
                Event(AMERICAN, at("2026-10-09"), segments=4),
                Event(ELSEWHERE, at("2026-10-10"), "sfr_fr", "outbound", 5),
            ],
        )
    dbt_project.build_models("2026-10")


def risen_rules(path: Path) -> dict[str, Decimal]:
    """pricing_rules.csv with the operator's prices 10% higher (6 places, half-up); the new
    price of each rule."""
    with (SEEDS / "pricing_rules.csv").open(newline="") as source:
        rows = list(csv.DictReader(source))
    prices = {}
    for row in rows:
        if row["operator_id"] == RISEN:
            price = (Decimal(row["unit_price"]) * Decimal("1.1")).quantize(
                Decimal("0.000001"), rounding=ROUND_HALF_UP
            )
            row["unit_price"] = str(price)
            prices[row["rule_id"]] = price
    with path.open("w", newline="") as sink:
        writer = csv.DictWriter(sink, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return prices


def expected_deltas(url: str, prices: dict[str, Decimal]) -> dict[str, Decimal]:
    """Per tenant: each line of the risen operator re-priced, rounded half-up to cents (the
    currencies here have 2 minor units), minus what the line says today."""
    deltas: dict[str, Decimal] = defaultdict(Decimal)
    with psycopg.connect(url) as conn:
        lines = conn.execute(
            "select tenant_id::text, rule_id, quantity, amount from billing.invoice_draft_lines"
            " where period = '2026-10' and operator_id = %s",
            (RISEN,),
        ).fetchall()
    for tenant, rule, quantity, amount in lines:
        new = (quantity * prices[rule]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        deltas[tenant] += new - amount
    return dict(deltas)


def whatif(url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return billing("whatif", "--month", "2026-10", *arguments, timeout=600,
                   BILLING_DATABASE_URL=url)  # fmt: skip


def test_a_price_rise_on_one_operator_gives_the_expected_deltas_and_changes_nothing(
    database_url: str, dbt_project: DbtProject, tmp_path: Path
) -> None:
    month(database_url, dbt_project)
    proposed = tmp_path / "pricing_rules.csv"
    prices = risen_rules(proposed)
    expected = expected_deltas(database_url, prices)
    assert set(expected) == {str(STARTER), str(AMERICAN)}
    assert all(expected.values())
    before = checksums(database_url)

    out = tmp_path / "report"
    done = whatif(database_url, "--pricing-rules", str(proposed), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "2 of 3 tenants change" in done.stdout
    shown = [line for line in done.stdout.splitlines() if not line.startswith("wrote ")]
    assert all(len(line) <= 80 for line in shown), done.stdout

    tenants = {row["key"]: row for row in read_csv(out / "tenants.csv")}
    assert set(tenants) == {str(STARTER), str(AMERICAN), str(ELSEWHERE)}
    for tenant, row in tenants.items():
        assert Decimal(row["revenue_delta"]) == expected.get(tenant, Decimal(0)), tenant
        assert Decimal(row["cost_delta"]) == 0
        assert Decimal(row["margin_delta"]) == Decimal(row["revenue_delta"])
    groups = {(row["group"], row["key"], row["currency"]): Decimal(row["revenue_delta"])
              for row in read_csv(out / "groups.csv")}  # fmt: skip
    assert groups[("total", "total", "EUR")] == expected[str(STARTER)]
    assert groups[("total", "total", "USD")] == expected[str(AMERICAN)]
    assert groups[("operator", RISEN, "EUR")] == expected[str(STARTER)]
    assert groups[("operator", "sfr_fr", "EUR")] == 0
    assert groups[("operator", "(subscriptions)", "EUR")] == 0
    changed = {(line["tenant_id"], line["operator_id"]) for line in read_csv(out / "lines.csv")}
    assert changed == {(str(STARTER), RISEN), (str(AMERICAN), RISEN)}

    assert checksums(database_url) == before
    assert scratch_schemas(database_url) == []
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4
    assert "Starter Ltd" in page


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def refused(url: str, *arguments: str) -> str:
    done = whatif(url, *arguments)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    return done.stderr


def test_bad_proposals_and_months_are_refused_with_their_rows_and_nothing_is_left(
    database_url: str, dbt_project: DbtProject, tmp_path: Path
) -> None:
    month(database_url, dbt_project)
    before = checksums(database_url)
    header = (SEEDS / "pricing_rules.csv").read_text().splitlines()[0]
    good = (SEEDS / "pricing_rules.csv").read_text().splitlines()[1:]

    bad_header = write(tmp_path / "header.csv", header.replace("unit_price", "price") + "\n")
    assert "line 1: the header must name the columns" in refused(
        database_url, "--pricing-rules", str(bad_header)
    )
    bad_type = write(tmp_path / "type.csv", "\n".join([header, *good[:2],
        good[2].replace(good[2].split(",")[5], "cheap")]) + "\n")  # fmt: skip
    message = refused(database_url, "--pricing-rules", str(bad_type))
    assert "type.csv line 4, column unit_price: 'cheap' is not a decimal number" in message
    duplicate = write(tmp_path / "duplicate.csv", "\n".join([header, *good, good[0]]) + "\n")
    message = refused(database_url, "--pricing-rules", str(duplicate))
    assert f"line {len(good) + 2}, column rule_id: duplicate key" in message

    # Overlapping validity: a second open version of the first rule's key, from 2026-10-15.
    first = good[0].split(",")
    overlap = ",".join([first[0] + ".overlap", *first[1:6], "2026-10-15", ""])
    overlapping = write(tmp_path / "overlap.csv", "\n".join([header, *good, overlap]) + "\n")
    message = refused(database_url, "--pricing-rules", str(overlapping))
    assert "catalogue test no_overlapping_validity" in message
    still_open = [number + 2 for number, line in enumerate(good)
                  if line.split(",")[1:5] == first[1:5] and line.endswith(",")]  # fmt: skip
    assert f"(lines {still_open[0]}, {len(good) + 2})" in message

    # A coverage gap: the month's inbound orange_fr traffic loses its price.
    uncovered = [line for line in good if ",orange_fr,inbound," not in line]
    gap = write(tmp_path / "gap.csv", "\n".join([header, *uncovered]) + "\n")
    message = refused(database_url, "--pricing-rules", str(gap))
    assert "without a price, cost or fee" in message
    assert "no_rule for starter orange_fr inbound EUR from 2026-10-04 to 2026-10-04" in message

    done = billing("whatif", "--month", "2026-11", "--pricing-rules",
                   str(tmp_path / "gap.csv"), BILLING_DATABASE_URL=database_url)  # fmt: skip
    assert done.returncode == 2
    assert "no events of 2026-11 are loaded" in done.stderr
    nothing = billing("whatif", "--month", "2026-10", BILLING_DATABASE_URL=database_url)
    assert nothing.returncode == 2
    assert "nothing proposed" in nothing.stderr

    assert checksums(database_url) == before
    assert scratch_schemas(database_url) == []
