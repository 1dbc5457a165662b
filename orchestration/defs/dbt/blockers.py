"""Close blockers: why a month cannot be issued yet, attached to the failing dbt test."""

from typing import Any

import dagster as dg
import psycopg

from billing import db
from billing.roles import Role
from orchestration.defs.resources import BillingResource
from orchestration.refusals import Refusal, refusal_metadata

_BLOCKER_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("blocker", "string"),
        dg.TableColumn("subject", "string"),
        dg.TableColumn("item_count", "int"),
        dg.TableColumn("remedy", "string"),
        dg.TableColumn("remedy_command", "string"),
        dg.TableColumn("exclude_command", "string"),
    ]
)


def read_blockers(billing: BillingResource) -> list[dict[str, Any]]:
    """The rows of billing.close_blockers (built for the run's period)."""
    url, role = billing.role_url(Role.TRANSFORMER)
    with db.connect(url, role=role) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "select blocker, subject, item_count, remedy, remedy_command, exclude_command"
            " from billing.close_blockers"
            " order by blocker, subject"
        ).fetchall()


def with_blockers(result: dg.AssetCheckResult, billing: BillingResource) -> dg.AssetCheckResult:
    """The failed close_blockers test, with the blockers and their remedies as metadata."""
    blockers = read_blockers(billing)
    remedies = "\n".join(
        f"- **{row['blocker']}** {row['subject']} ({row['item_count']}): {row['remedy']}: "
        f"`{row['remedy_command']}`"
        + (
            f"; or, if they can never be billed: `{row['exclude_command']}`"
            if row["exclude_command"]
            else ""
        )
        for row in blockers
    )
    metadata = {
        **result.metadata,
        "blocker_count": dg.MetadataValue.int(len(blockers)),
        "blockers": dg.MetadataValue.table(
            records=[dg.TableRecord(row) for row in blockers], schema=_BLOCKER_SCHEMA
        ),
        "remedies": dg.MetadataValue.md(remedies or "(none listed)"),
        **refusal_metadata(Refusal.BLOCKERS),
    }
    return result._replace(
        metadata=metadata,
        description=f"{len(blockers)} close blocker(s): the month cannot be issued yet",
    )
