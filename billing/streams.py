"""The JetStream streams of the service, ensured (created or updated) idempotently.

Stream BILLING holds charge events only (`billing.message.>`); invoice events have their own
stream BILLING_INVOICES (`billing.invoice.>`): NATS refuses overlapping streams (SPEC §1).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from billing.settings import CHARGE_STREAM, CHARGE_SUBJECTS, INVOICE_STREAM, INVOICE_SUBJECTS


@dataclass(frozen=True)
class StreamSpec:
    """What the service needs of one stream; other settings are left as the operator set them."""

    name: str
    subjects: tuple[str, ...]
    description: str


STREAMS = (
    StreamSpec(CHARGE_STREAM, CHARGE_SUBJECTS, "Charge events (billing.message.charged.v1)"),
    StreamSpec(INVOICE_STREAM, INVOICE_SUBJECTS, "Invoice events (billing.invoice.generated.v1)"),
)


async def ensure_stream(
    js: JetStreamContext, spec: StreamSpec, duplicate_window_seconds: float
) -> str:
    """Create `spec`'s stream, or update its subjects and duplicate window; returns what it did."""
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=spec.name,
                description=spec.description,
                subjects=list(spec.subjects),
                storage=StorageType.FILE,
                duplicate_window=duplicate_window_seconds,
            )
        )
        return "created"
    config = info.config
    if sorted(config.subjects or []) == sorted(spec.subjects) and _same_seconds(
        config.duplicate_window, duplicate_window_seconds
    ):
        return "unchanged"
    config.subjects = list(spec.subjects)
    config.duplicate_window = duplicate_window_seconds
    await js.update_stream(config)
    return "updated"


async def ensure_streams(js: JetStreamContext, duplicate_window_seconds: float) -> dict[str, str]:
    """Ensure BILLING then BILLING_INVOICES (in that order, so a legacy `billing.>` is narrowed
    before the invoice stream claims its subjects); returns what was done per stream."""
    return {spec.name: await ensure_stream(js, spec, duplicate_window_seconds) for spec in STREAMS}


def _same_seconds(current: float | None, wanted: float) -> bool:
    return current is not None and abs(current - wanted) < 1e-3
