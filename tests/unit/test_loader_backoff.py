"""The reconnection backoff of the loader: exponential, capped, reset after a success."""

from __future__ import annotations

from loader.backoff import CAP_SECONDS, Backoff, backoff_delay


def test_the_wait_doubles_up_to_the_cap_and_stays_there() -> None:
    waits = [backoff_delay(attempt) for attempt in range(8)]
    assert waits == [0.25, 0.5, 1.0, 2.0, 4.0, CAP_SECONDS, CAP_SECONDS, CAP_SECONDS]
    assert backoff_delay(10_000) == CAP_SECONDS  # no overflow however long the outage


def test_an_outage_counts_its_attempts_and_a_success_starts_over() -> None:
    backoff = Backoff(initial=0.1, cap=0.3)
    assert [backoff.next_delay() for _ in range(4)] == [0.1, 0.2, 0.3, 0.3]
    backoff.reset()
    assert backoff.next_delay() == 0.1
