"""The ledger's reconciliation rules, and the event id lists Finance gives the exclude command."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from billing.periods import Period
from finance.exclusions import ExclusionRefusedError, parse_event_ids, read_event_id_file
from finance.ledger import Fate, Reconciliation, StreamCount

BALANCED = Reconciliation(
    period=Period(2026, 10),
    stream=StreamCount(landed=12, rejected=1, counted_twice=0, first_sequence=1, last_sequence=13),
    messages={
        Fate.INVOICED: 8,
        Fate.LATE: 1,
        Fate.UNPRICED: 1,
        Fate.EXCLUDED: 1,
        Fate.DUPLICATE: 1,
    },
    events={Fate.INVOICED: 8, Fate.LATE: 1, Fate.UNPRICED: 1, Fate.EXCLUDED: 1, Fate.DUPLICATE: 1},
    doubled=0,
    invoices=2,
    totals_not_tied=0,
    usage_lines=3,
    lines_not_tied=0,
    totals={"EUR": Decimal("12.30"), "JPY": Decimal("1200")},
)


def test_a_balanced_month_reconciles_and_says_so_in_one_line() -> None:
    assert BALANCED.reconciles
    line = BALANCED.line()
    assert line.startswith("2026-10: stream 1..13 = landed 12 + rejected 1 (gaps 0); ")
    assert "month landed 12 = distinct 11 + duplicates 1" in line
    assert "distinct 11 = priced 9 + unpriced 1 + excluded 1;" in line
    assert "priced 9 = invoiced 8 + late 1 + pending 0 + written off 0" in line
    assert "2 invoice(s) = their lines (12.30 EUR, 1,200 JPY)" in line
    assert line.endswith(": reconciles")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"stream": StreamCount(11, 1, 0, 1, 13)}, "1 stream sequence(s) neither landed nor"),
        ({"stream": StreamCount(12, 2, 1, 1, 13)}, "1 sequence(s) both landed and rejected"),
        ({"doubled": 1}, "1 event(s) with more than one fate"),
        ({"totals_not_tied": 1}, "1 invoice(s) whose total is not their lines'"),
        ({"lines_not_tied": 2}, "2 usage line(s) not the sum of their events"),
    ],
)
def test_each_way_of_not_reconciling_is_named(change: dict[str, object], problem: str) -> None:
    broken = dataclasses.replace(BALANCED, **change)  # type: ignore[arg-type]
    assert not broken.reconciles
    assert any(found.startswith(problem) for found in broken.problems), broken.problems
    assert "DOES NOT RECONCILE: " + problem in broken.line()


def test_an_empty_stream_has_no_gap() -> None:
    assert StreamCount(0, 0, 0, 0, 0).gaps == 0


def test_event_ids_from_arguments_and_files(tmp_path: Path) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert parse_event_ids([str(first), f" {second} ", str(first)]) == [first, second]
    listed = tmp_path / "ids.txt"
    listed.write_text(f"# from the ledger\n{second}\n\n{first}  # the 1970 one\n")
    assert read_event_id_file(listed) == [second, first]
    listed.write_text(f"{first}\nINV-202610-000001\n")
    with pytest.raises(ExclusionRefusedError, match=r"line 2 of .*ids.txt\) is not an event id"):
        read_event_id_file(listed)
    with pytest.raises(ExclusionRefusedError, match="cannot read"):
        read_event_id_file(tmp_path / "missing.txt")
