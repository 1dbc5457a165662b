"""Run a suite with Great Expectations 1.x against PostgreSQL, in an ephemeral context.

GX connects through SQLAlchemy with psycopg 3 (`postgresql+psycopg://`): `add_sql`, because
`add_postgres` refuses the Unix-socket URLs of the embedded server. Checks read as
billing_auditor (read-only, every row) unless a dedicated URL is configured for it.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from billing.roles import Role
from expectations.suites import ExpectationSpec, Suite, SuitePart

_EXAMPLES = 5


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation on one part of a suite."""

    part: str
    expectation: str
    success: bool
    observed: str = ""
    unexpected_count: int | None = None
    examples: tuple[str, ...] = ()

    def details(self) -> str:
        """What was seen: unexpected count, observed value, examples."""
        details = []
        if self.unexpected_count:
            details.append(f"{self.unexpected_count} unexpected")
        if self.observed:
            details.append(f"observed {self.observed}")
        if self.examples:
            details.append("e.g. " + ", ".join(self.examples))
        return "; ".join(details)

    def describe(self) -> str:
        """One line: the expectation and what was seen."""
        details = self.details()
        return f"{self.part}: {self.expectation}" + (f": {details}" if details else "")


@dataclass(frozen=True)
class SuiteOutcome:
    """Every expectation's outcome; the suite passes when all passed."""

    suite: str
    description: str
    outcomes: tuple[ExpectationOutcome, ...]
    seconds: float = 0.0
    failures: tuple[ExpectationOutcome, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "failures", tuple(outcome for outcome in self.outcomes if not outcome.success)
        )

    @property
    def success(self) -> bool:
        return not self.failures

    def markdown(self) -> str:
        """A table of every expectation, failures first, for the Dagster UI."""
        rows = ["| part | expectation | result | details |", "| --- | --- | --- | --- |"]
        ordered = sorted(self.outcomes, key=lambda outcome: outcome.success)
        for outcome in ordered:
            details = outcome.details().replace("|", "/")
            rows.append(
                f"| {outcome.part} | {outcome.expectation} | "
                f"{'passed' if outcome.success else '**failed**'} | {details} |"
            )
        return "\n".join(rows)


def sqlalchemy_url(
    database_url: str, role: str | None = None, settings: tuple[tuple[str, str], ...] = ()
) -> str:
    """A psycopg 3 SQLAlchemy URL for a libpq URL, switching to `role` and applying the
    session `settings` (name, value) at connect."""
    parts = urlsplit(database_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = ([("role", role)] if role is not None else []) + list(settings)
    if options:
        query.append(("options", " ".join(f"-c {name}={value}" for name, value in options)))
    return parts._replace(scheme="postgresql+psycopg", query=urlencode(query)).geturl()


def _short(value: Any, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _raised(exception_info: Any) -> str | None:
    """The first error message in GX's exception_info (flat, or keyed by metric)."""
    if not isinstance(exception_info, dict):
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message"))
    for value in exception_info.values():
        message = _raised(value)
        if message:
            return message
    return None


def _outcome(part: SuitePart, label: str, result: Any) -> ExpectationOutcome:
    details: dict[str, Any] = dict(result.result or {})
    error = _raised(getattr(result, "exception_info", None))
    if error is not None:
        first_line = error.strip().splitlines()[0] if error.strip() else error
        return ExpectationOutcome(part.name, label, False, observed=_short(first_line, 200))
    observed = details.get("observed_value")
    examples = tuple(_short(value) for value in (details.get("partial_unexpected_list") or []))
    return ExpectationOutcome(
        part=part.name,
        expectation=label,
        success=bool(result.success),
        observed="" if observed is None else _short(observed),
        unexpected_count=details.get("unexpected_count"),
        examples=examples[:_EXAMPLES],
    )


def _validate(
    batch: Any, name: str, specs: list[ExpectationSpec], result_format: str
) -> dict[str, Any]:
    """Validate `specs` on the batch; results by expectation label."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    # GX returns results in its own order: each expectation carries its label in meta.
    expectations = [
        getattr(gxe, spec.kind)(**spec.kwargs, meta={"label": spec.label()}) for spec in specs
    ]
    validation = batch.validate(
        gx.ExpectationSuite(name=f"{name}.{result_format}", expectations=expectations),
        result_format=result_format,
    )
    return {
        str((result.expectation_config.meta or {}).get("label")): result
        for result in validation.results
        if result.expectation_config is not None
    }


def run_suite(suite: Suite, database_url: str, role: str | None = Role.AUDITOR) -> SuiteOutcome:
    """Validate every part of `suite` against the database; never raises on failed data."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx  # heavy import (seconds): only when a suite runs
        from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_sql(
        name="billing", connection_string=sqlalchemy_url(database_url, role, suite.settings)
    )
    outcomes: list[ExpectationOutcome] = []
    for part in suite.parts:
        if part.table is not None:
            table = source.add_table_asset(
                name=part.name, schema_name=part.table[0], table_name=part.table[1]
            )
            batch = table.add_batch_definition_whole_table("whole").get_batch()
        else:
            query = source.add_query_asset(name=part.name, query=part.query or "")
            batch = query.add_batch_definition_whole_table("whole").get_batch()
        # Pass/fail first: GX bundles those metrics into few scans (4 s on 10M rows, against
        # 16 s with the unexpected-value lists); the lists only for what failed.
        name = f"{suite.name}.{part.name}"
        results = _validate(batch, name, list(part.expectations), "BOOLEAN_ONLY")
        failed = [spec for spec in part.expectations if not results[spec.label()].success]
        if failed:
            results.update(_validate(batch, name, failed, "SUMMARY"))
        for spec in part.expectations:
            outcomes.append(_outcome(part, spec.label(), results[spec.label()]))
    return SuiteOutcome(
        suite=suite.name,
        description=suite.description,
        outcomes=tuple(outcomes),
        seconds=time.perf_counter() - started,
    )
