"""The raw table as an observed source: what the loader landed, once it has caught up."""

from typing import cast

import dagster as dg

from billing import db
from billing.roles import Role
from orchestration.defs.resources import BillingResource
from orchestration.loader_progress import LoaderBehindError, LoaderProgress, wait_for_loader
from orchestration.refusals import Refusal, refusal_metadata

RAW_EVENTS = dg.AssetKey(["raw", "message_charged"])


def _progress_metadata(progress: LoaderProgress) -> dict[str, dg.MetadataValue]:
    return {
        "stream_last_sequence_at_start": dg.MetadataValue.int(progress.target_sequence),
        "loader_high_water_mark": dg.MetadataValue.int(progress.high_water_mark),
        "consumer_pending": dg.MetadataValue.int(progress.stream.pending),
        "consumer_ack_pending": dg.MetadataValue.int(progress.stream.ack_pending),
        "waited_seconds": dg.MetadataValue.float(round(progress.waited_seconds, 1)),
    }


@dg.observable_source_asset(
    key=RAW_EVENTS,
    group_name="raw",
    description=(
        "One row per landed billing.message.charged.v1 stream message (the loader appends; "
        "duplicates removed in staging). Observed at the start of each close, once the loader "
        "has landed everything the stream held (SPEC section 4): a close refuses to go on "
        "while the loader is behind."
    ),
)
def raw_message_charged(
    context: dg.AssetExecutionContext, billing: BillingResource
) -> dg.ObserveResult:
    """Wait (bounded) for the loader to catch up, then record the table's size and freshness."""
    settings = billing.settings()
    endpoints = billing.endpoints()
    url, role = db.role_url(settings, endpoints.database_url, Role.TRANSFORMER)

    def report(progress: LoaderProgress) -> None:
        if not progress.caught_up:
            context.log.info(f"waiting for the loader: {progress.summary()}")

    try:
        progress = wait_for_loader(
            endpoints.nats_url,
            url,
            role=role,
            timeout_seconds=settings.close_wait_seconds,
            on_poll=report,
        )
    except LoaderBehindError as behind:
        raise dg.Failure(
            description=str(behind),
            metadata={
                **_progress_metadata(behind.progress),
                **refusal_metadata(Refusal.LOADER_BEHIND),
            },
        ) from None
    with db.connect(url, role=role) as conn:
        row = conn.execute(
            "select count(*), coalesce(max(stream_sequence), 0), max(occurred_at), max(landed_at)"
            " from raw.message_charged"
        ).fetchone()
    assert row is not None  # an aggregate always returns its row
    rows, last_sequence, newest_event, last_landed = cast(tuple[int, int, object, object], row)
    return dg.ObserveResult(
        data_version=dg.DataVersion(str(last_sequence)),
        metadata={
            "row_count": dg.MetadataValue.int(rows),
            "newest_occurred_at": dg.MetadataValue.text(str(newest_event or "-")),
            "last_landed_at": dg.MetadataValue.text(str(last_landed or "-")),
            "last_stream_sequence": dg.MetadataValue.int(last_sequence),
            **_progress_metadata(progress),
        },
    )
