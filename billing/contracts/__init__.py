"""Event contracts: the JSON Schema files in this folder are the contract.

`check_charge_event` is what the loader applies to every message: JSON parsing, the schema
(compiled with fastjsonschema from the same file, for speed) and the one rule a schema
pattern cannot express, that occurred_at is a real instant.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import orjson

CHARGED_V1 = "billing.message.charged.v1"
INVOICE_GENERATED_V1 = "billing.invoice.generated.v1"
CONTRACTS_DIR = Path(str(resources.files("billing.contracts")))


class ContractViolation(ValueError):
    """A message that breaks its contract; the message is the readable reason."""


@cache
def schema(name: str) -> dict[str, Any]:
    """The parsed JSON Schema of contract `name`."""
    loaded: dict[str, Any] = json.loads((CONTRACTS_DIR / f"{name}.schema.json").read_text())
    return loaded


@cache
def compiled_validator(name: str) -> Callable[[Any], Any]:
    """A fast validator compiled from the schema file (fastjsonschema)."""
    validate: Callable[[Any], Any] = fastjsonschema.compile(schema(name))
    return validate


def reference_validator(name: str) -> jsonschema.Draft202012Validator:
    """The reference validator (jsonschema), used by tests to cross-check the compiled one."""
    return jsonschema.Draft202012Validator(schema(name))


def _parse_instant(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as error:
        raise ContractViolation(f"occurred_at {value!r} is not a valid RFC 3339 instant") from error


def check_charge_event(data: bytes) -> dict[str, Any]:
    """Parse and validate one billing.message.charged.v1 message, or raise ContractViolation."""
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise ContractViolation(f"not valid JSON: {error}") from None
    if isinstance(event, dict):
        event_type = event.get("event_type")
        if "event_type" in event and event_type != CHARGED_V1:
            raise ContractViolation(f"event_type {event_type!r} is not {CHARGED_V1}")
    try:
        compiled_validator(CHARGED_V1)(event)
    except fastjsonschema.JsonSchemaValueException as error:
        raise ContractViolation(f"schema: {error.message}") from None
    _parse_instant(event["occurred_at"])
    return dict(event)


def check_invoice_generated(event: dict[str, Any]) -> None:
    """Validate an outgoing billing.invoice.generated.v1 event, or raise ContractViolation."""
    try:
        compiled_validator(INVOICE_GENERATED_V1)(event)
    except fastjsonschema.JsonSchemaValueException as error:
        raise ContractViolation(f"schema: {error.message}") from None


def example_files(name: str, kind: str) -> list[Path]:
    """The valid or invalid example files of contract `name`."""
    folder = CONTRACTS_DIR / "examples" / name / kind
    return sorted(path for path in folder.glob("*.json") if path.name != "expected_reasons.json")


def expected_reasons(name: str) -> dict[str, str]:
    """For each invalid example file, a fragment its rejection reason must contain."""
    path = CONTRACTS_DIR / "examples" / name / "invalid" / "expected_reasons.json"
    reasons: dict[str, str] = json.loads(path.read_text())
    return reasons
