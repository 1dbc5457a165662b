"""PostgreSQL side of the loader: one transaction per batch, rows + rejects + high-water mark.

Connected as group role billing_loader (SET ROLE locally, its own login in production), which
may only INSERT into the two raw tables and read/write its checkpoint row. A session advisory
lock keeps a second loader of the same consumer from running against the same database.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import sql

from billing.locks import TRY_LOCK_SQL, loader_lock
from billing.raw import CHARGE_COLUMNS
from loader.errors import LoaderRefusedError
from loader.rows import (
    REJECT_COLUMNS,
    ChargeRow,
    RejectRow,
    copy_line,
    reject_row,
)

log = logging.getLogger(__name__)

# Rows per COPY message: PostgreSQL parses one chunk while the next is being formatted.
_COPY_CHUNK_ROWS: Final = 2_000
CONNECT_TIMEOUT_SECONDS: Final = 10

COPY_CHARGES: Final = sql.SQL("copy raw.message_charged ({}) from stdin").format(
    sql.SQL(", ").join(map(sql.Identifier, CHARGE_COLUMNS))
)
COPY_REJECTS: Final = sql.SQL("copy raw.rejected_messages ({}) from stdin").format(
    sql.SQL(", ").join(map(sql.Identifier, REJECT_COLUMNS))
)
SAVE_CHECKPOINT: Final = """
    insert into raw.loader_checkpoints as checkpoint
        (consumer_name, stream_name, last_stream_sequence, updated_at)
    values (%(consumer)s, %(stream)s, %(sequence)s, now())
    on conflict (consumer_name) do update
        set last_stream_sequence = excluded.last_stream_sequence,
            stream_name = excluded.stream_name,
            updated_at = now()
        where checkpoint.last_stream_sequence < excluded.last_stream_sequence
"""


@dataclass(frozen=True)
class WriteResult:
    """What one committed batch holds."""

    loaded: int
    rejected: int
    refused_by_database: int


class Sink:
    """The loader's database session."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], consumer: str, stream: str) -> None:
        self._conn = conn
        self._consumer = consumer
        self._stream = stream

    @classmethod
    async def open(cls, database_url: str, role: str | None, consumer: str, stream: str) -> Sink:
        """Connect (switching to `role` when given) and take the consumer's lock."""
        conn = await psycopg.AsyncConnection.connect(
            database_url,
            autocommit=True,
            application_name=f"billing-loader:{consumer}",
            client_encoding="utf8",  # copy_line() output is encoded as UTF-8
            connect_timeout=CONNECT_TIMEOUT_SECONDS,  # an unanswering host: retried, not hung
        )
        try:
            if role is not None:
                await conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
            cursor = await conn.execute(TRY_LOCK_SQL, (loader_lock(consumer),))
            row = await cursor.fetchone()
            if not row or not row[0]:
                raise LoaderRefusedError(
                    f"another loader of consumer {consumer!r} is connected to this database; "
                    "stop it first (one loader per consumer keeps the high-water mark exact)"
                )
        except BaseException:
            await conn.close()
            raise
        return cls(conn, consumer, stream)

    async def close(self) -> None:
        """Close the session (which releases the lock)."""
        await self._conn.close()

    async def ping(self) -> None:
        """A round trip to the server; raises psycopg.OperationalError when it is unreachable."""
        await self._conn.execute("select 1")

    async def checkpoint(self) -> int:
        """The committed high-water mark of the consumer (0 before the first batch)."""
        cursor = await self._conn.execute(
            "select last_stream_sequence from raw.loader_checkpoints where consumer_name = %s",
            (self._consumer,),
        )
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def write(
        self, rows: Sequence[ChargeRow], rejects: Sequence[RejectRow], high_water: int
    ) -> WriteResult:
        """Land rows and rejects and move the high-water mark, in one transaction.

        When PostgreSQL refuses a value (class 22, data exception) that the contract let
        through, the batch is retried with the offending rows isolated by bisection under
        savepoints and turned into rejects with PostgreSQL's reason: a bad message never
        stalls the stream.
        """
        try:
            async with self._conn.transaction():
                await self._copy_charges(rows)
                await self._copy_rejects(rejects)
                await self._save_checkpoint(high_water)
            return WriteResult(len(rows), len(rejects), 0)
        except psycopg.errors.DataError as error:
            log.warning("PostgreSQL refused a value in this batch, isolating it: %s", error)
        async with self._conn.transaction():
            refused = await self._copy_isolating(list(rows))
            await self._copy_rejects([*rejects, *refused])
            await self._save_checkpoint(high_water)
        return WriteResult(len(rows) - len(refused), len(rejects) + len(refused), len(refused))

    async def _copy_charges(self, rows: Sequence[ChargeRow]) -> None:
        if not rows:
            return
        async with self._conn.cursor() as cursor, cursor.copy(COPY_CHARGES) as copy:
            for start in range(0, len(rows), _COPY_CHUNK_ROWS):
                chunk = rows[start : start + _COPY_CHUNK_ROWS]
                await copy.write("".join(map(copy_line, chunk)).encode())

    async def _copy_rejects(self, rows: Sequence[RejectRow]) -> None:
        if not rows:
            return
        async with self._conn.cursor() as cursor, cursor.copy(COPY_REJECTS) as copy:
            for row in rows:
                await copy.write_row(row)

    async def _copy_isolating(self, rows: list[ChargeRow]) -> list[RejectRow]:
        if not rows:
            return []
        try:
            async with self._conn.transaction():
                await self._copy_charges(rows)
        except psycopg.errors.DataError as error:
            if len(rows) == 1:
                row = rows[0]
                reason = f"PostgreSQL refused it: {error.diag.message_primary or error}"
                return [reject_row(row[0], row[1], row[-1].encode(), reason)]
            middle = len(rows) // 2
            return [
                *await self._copy_isolating(rows[:middle]),
                *await self._copy_isolating(rows[middle:]),
            ]
        return []

    async def _save_checkpoint(self, high_water: int) -> None:
        await self._conn.execute(
            SAVE_CHECKPOINT,
            {"consumer": self._consumer, "stream": self._stream, "sequence": high_water},
        )
