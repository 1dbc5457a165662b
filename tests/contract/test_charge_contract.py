"""billing.message.charged.v1: the examples, three validators that must agree, and the loader.

The reference is jsonschema (draft 2020-12) over the schema file, with JSON Schema's ECMA-262
pattern semantics (`$` is the end of input) plus the contract's one extra rule (occurred_at is
a real instant). `check_charge_event` is the compiled schema (fastjsonschema), the loader's
`satisfies_contract` its hand-written fast path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.contracts import (
    CHARGED_V1,
    ContractViolation,
    check_charge_event,
    example_files,
    expected_reasons,
    schema,
)
from loader.rows import Rejected, build_row, satisfies_contract
from tests.support.ingest import event, loader_config, publish, rows, run_loader

VALID = example_files(CHARGED_V1, "valid")
INVALID = example_files(CHARGED_V1, "invalid")
REASONS = expected_reasons(CHARGED_V1)


def _ecma_pattern(
    validator: jsonschema.protocols.Validator, pattern: str, instance: Any, _schema: Any
) -> Iterator[jsonschema.ValidationError]:
    if isinstance(instance, str) and not re.search(re.sub(r"(?<!\\)\$", r"\\Z", pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


ReferenceValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern}
)
REFERENCE = ReferenceValidator(schema(CHARGED_V1))


def reference_accepts(data: bytes) -> bool:
    """The reference verdict: JSON, the schema, and a real instant."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return False
    if not REFERENCE.is_valid(parsed):
        return False
    from datetime import datetime

    try:
        datetime.fromisoformat(parsed["occurred_at"].replace("z", "Z"))
    except ValueError:
        return False
    return True


def compiled_accepts(data: bytes) -> bool:
    try:
        check_charge_event(data)
    except ContractViolation:
        return False
    return True


def fast_accepts(data: bytes) -> bool:
    try:
        return satisfies_contract(orjson.loads(data))
    except orjson.JSONDecodeError:
        return False


def test_every_invalid_example_has_an_expected_reason() -> None:
    assert sorted(REASONS) == sorted(path.name for path in INVALID)
    assert VALID


@pytest.mark.parametrize("path", VALID, ids=lambda path: path.name)
def test_valid_examples_pass_all_three_validators(path: Path) -> None:
    data = path.read_bytes()
    assert reference_accepts(data)
    assert compiled_accepts(data)
    assert fast_accepts(data)
    assert isinstance(build_row(1, "billing.message.charged.v1", data), tuple)


@pytest.mark.parametrize("path", INVALID, ids=lambda path: path.name)
def test_invalid_examples_fail_all_three_with_the_expected_reason(path: Path) -> None:
    data = path.read_bytes()
    assert not reference_accepts(data)
    assert not compiled_accepts(data)
    assert not fast_accepts(data)
    row = build_row(1, "billing.message.charged.v1", data)
    assert isinstance(row, Rejected)
    assert REASONS[path.name] in row.reason


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 2000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
near_strings = st.sampled_from(
    [
        "",
        "\n",
        "orange_fr\n",
        "Orange",
        "a" * 64,
        "a" * 65,
        "m" * 128,
        "m" * 129,
        "FR",
        "fr",
        "FRA",
        "outbound",
        "inbound",
        "7a0f5a4e-3c2b-4c1e-9d7a-0b1e2f3a4b5c",
        "7A0F5A4E-3C2B-4C1E-9D7A-0B1E2F3A4B5C",
        "7a0f5a4e-3c2b-4c1e-9d7a-0b1e2f3a4b5c\n",
        "7a0f5a4e3c2b4c1e9d7a0b1e2f3a4b5c",
        "2026-10-14T09:30:12Z",
        "2026-10-14t09:30:12.123456789z",
        "2026-10-14T09:30:12+23:59",
        "2026-10-14T09:30:12-00:00",
        "2026-02-29T10:00:00Z",
        "2024-02-29T10:00:00Z",
        "2026-10-14T24:00:00Z",
        "2026-10-14T09:30:60Z",
        "2026-10-14 09:30:12Z",
        "2026-10-14T09:30:12",
        "0000-01-01T00:00:00Z",
        "billing.message.charged.v1",
        "billing.message.charged.v2",
    ]
)
segment_values = st.sampled_from([0, 1, 2, 1000, 1001, 1.0, 2.0, 1000.0, 2.5, -1, True, "2"])
FIELDS = [*schema(CHARGED_V1)["required"], "country", "attributes", "extra"]


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    candidate: dict[str, Any] = event()
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
        field = draw(st.sampled_from(FIELDS))
        action = draw(st.sampled_from(["delete", "near", "any", "segments", "attributes"]))
        if action == "delete":
            candidate.pop(field, None)
        elif action == "near":
            candidate[field] = draw(near_strings)
        elif action == "any":
            candidate[field] = draw(json_values)
        elif action == "segments":
            candidate["segments"] = draw(segment_values)
        else:
            candidate["attributes"] = draw(
                st.dictionaries(st.text(max_size=4), st.text(max_size=4) | json_values, max_size=3)
            )
    if draw(st.integers(0, 7)):
        return orjson.dumps(candidate)
    return orjson.dumps(draw(json_values))  # not even an object, sometimes


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_the_three_validators_agree_on_generated_cases(data: bytes) -> None:
    verdict = reference_accepts(data)
    assert compiled_accepts(data) == verdict
    assert fast_accepts(data) == verdict


def test_the_loader_lands_every_valid_example_and_rejects_every_invalid_one(
    database_url: str, nats_url: str
) -> None:
    examples = [*VALID, *INVALID]
    # Without Nats-Msg-Id: several examples share an event_id and must all reach the loader.
    report = publish(nats_url, [path.read_bytes() for path in examples], with_msg_id=False)
    assert report.stored == len(examples)
    summary = run_loader(loader_config(database_url, nats_url))
    assert (summary.loaded, summary.rejected) == (len(VALID), len(INVALID))
    landed = rows(database_url, "select stream_sequence, payload from raw.message_charged")
    assert sorted((sequence, payload) for sequence, payload in landed) == [
        (number, json.loads(path.read_bytes())) for number, path in enumerate(VALID, start=1)
    ]
    rejected = dict(
        (sequence, (bytes(payload), reason))
        for sequence, payload, reason in rows(
            database_url, "select stream_sequence, payload, reason from raw.rejected_messages"
        )
    )
    for number, path in enumerate(INVALID, start=len(VALID) + 1):
        original, reason = rejected[number]
        assert original == path.read_bytes()
        assert REASONS[path.name] in reason
