"""Named advisory locks: one holder at a time, released on exit and when a session ends."""

from __future__ import annotations

import psycopg
import pytest

from billing.locks import Lock, LockBusyError, advisory_lock


def test_a_second_session_is_refused_while_the_first_holds_the_lock(database_url: str) -> None:
    with (
        psycopg.connect(database_url, autocommit=True) as first,
        psycopg.connect(database_url) as second,
    ):
        with advisory_lock(first, Lock.RENDER):
            with (
                pytest.raises(LockBusyError, match="wait for it"),
                advisory_lock(second, Lock.RENDER, busy="wait for it"),
            ):
                pass
            # Another name is another lock.
            with advisory_lock(second, Lock.PUBLISH):
                assert second.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with advisory_lock(second, Lock.RENDER):
            pass


def test_waiting_polls_until_the_deadline(database_url: str) -> None:
    polls: list[int] = []
    with (
        psycopg.connect(database_url, autocommit=True) as first,
        psycopg.connect(database_url, autocommit=True) as second,
        advisory_lock(first, Lock.CLOSE),
        pytest.raises(LockBusyError) as busy,
        advisory_lock(
            second, Lock.CLOSE, wait_seconds=0.3, poll_seconds=0.1, on_wait=lambda: polls.append(1)
        ),
    ):
        pass
    assert busy.value.name == Lock.CLOSE
    assert len(polls) >= 2


def test_a_closed_session_releases_its_lock(database_url: str) -> None:
    holder = psycopg.connect(database_url, autocommit=True)
    with advisory_lock(holder, Lock.MIGRATIONS, wait_seconds=None):
        holder.close()
    with (
        psycopg.connect(database_url, autocommit=True) as other,
        advisory_lock(other, Lock.MIGRATIONS),
    ):
        pass
