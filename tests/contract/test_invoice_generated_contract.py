"""billing.invoice.generated.v1: the examples, and every event the renderer produces.

The reference is jsonschema (draft 2020-12) over the schema file with ECMA-262 pattern
semantics (`$` is the end of input); `check_invoice_generated` (compiled, what the renderer
runs before writing the outbox) must agree with it. Events taken from a real render and from
the stream are checked in tests/integration and tests/fault with the same reference.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.contracts import (
    INVOICE_GENERATED_V1,
    ContractViolation,
    check_invoice_generated,
    example_files,
    expected_reasons,
    schema,
)
from billing.currencies import currencies_with_places, minor_units
from invoice_renderer.events import invoice_generated
from invoice_renderer.model import StoredDocument
from tests.support.issued_invoices import sample_invoice


def _ecma_pattern(
    validator: jsonschema.protocols.Validator, pattern: str, instance: Any, _schema: Any
) -> Iterator[jsonschema.ValidationError]:
    if isinstance(instance, str) and not re.search(re.sub(r"(?<!\\)\$", r"\\Z", pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


REFERENCE = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern}
)(schema(INVOICE_GENERATED_V1))
REASONS = expected_reasons(INVOICE_GENERATED_V1)


@pytest.mark.parametrize(
    "path", example_files(INVOICE_GENERATED_V1, "valid"), ids=lambda path: path.name
)
def test_valid_examples_pass_both_validators(path: Path) -> None:
    event = json.loads(path.read_text())
    assert list(REFERENCE.iter_errors(event)) == []
    check_invoice_generated(event)


@pytest.mark.parametrize(
    "path", example_files(INVOICE_GENERATED_V1, "invalid"), ids=lambda path: path.name
)
def test_invalid_examples_fail_both_validators_for_the_expected_reason(path: Path) -> None:
    event = json.loads(path.read_text())
    errors = list(REFERENCE.iter_errors(event))
    assert errors
    fragment = REASONS[path.name]
    assert any(fragment in f"{error.message} {list(error.absolute_path)}" for error in errors)
    with pytest.raises(ContractViolation):
        check_invoice_generated(event)


def test_the_schema_knows_each_currency_s_minor_units() -> None:
    """The contract's per-currency places are billing.currencies' (the seed's, JPY 0, BHD 3)."""
    enums = [
        branch["if"]["properties"]["currency"] for branch in schema(INVOICE_GENERATED_V1)["allOf"]
    ]
    assert enums[0]["enum"] == list(currencies_with_places(0))
    assert enums[1]["enum"] == list(currencies_with_places(3))
    assert sorted(enums[2]["not"]["enum"]) == sorted(enums[0]["enum"] + enums[1]["enum"])


@st.composite
def money_in(draw: st.DrawFn, currency: str) -> Decimal:
    """An amount with exactly the currency's minor units as places."""
    places = minor_units(currency)
    return draw(
        st.decimals(min_value=0, max_value=Decimal("9999999999999999"), places=places)
    ).quantize(Decimal(1).scaleb(-places))


CURRENCIES = ["EUR", "USD", "GBP", "JPY", "CHF", "BHD", "KWD"]


@settings(max_examples=150, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=999_999),
    period=st.sampled_from(["2026-01", "2026-10", "2026-12", "2027-02"]),
    currency_and_total=st.sampled_from(CURRENCIES).flatmap(
        lambda currency: st.tuples(st.just(currency), money_in(currency))
    ),
    replaces=st.one_of(st.none(), st.integers(min_value=1, max_value=999_999)),
    size=st.integers(min_value=1, max_value=50_000_000),
    occurred=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
)
def test_every_produced_event_satisfies_the_contract(
    seq: int,
    period: str,
    currency_and_total: tuple[str, Decimal],
    replaces: int | None,
    size: int,
    occurred: datetime,
) -> None:
    currency, total = currency_and_total
    base = sample_invoice(seq, period=period, usage_lines=1, late_lines=0, currency=currency)
    replaced = None if replaces is None else f"INV-{period.replace('-', '')}-{replaces:06d}"
    invoice = dataclasses.replace(
        base, subtotal=total, total=total, replaces_invoice_number=replaced
    )
    year, month = period.split("-")
    stored = StoredDocument(
        uri=f"s3://billing-documents/invoices/{year}/{month}/{invoice.invoice_number}.pdf",
        sha256="ab" * 32,
        size_bytes=size,
        created=True,
    )

    event = invoice_generated(invoice, stored, uuid.uuid4(), occurred)

    assert list(REFERENCE.iter_errors(event)) == []
    encoded = json.dumps(event)
    assert not any(isinstance(value, float) for value in event.values())
    assert Decimal(event["total"]) == Decimal(event["subtotal"]) == total
    # Money fields carry the currency's own places (SPEC says two: JPY has none, BHD three).
    assert json.loads(encoded)["total"] == f"{total:.{minor_units(currency)}f}"
    assert event["replaces_invoice_number"] == replaced
    assert event["period"] == period
