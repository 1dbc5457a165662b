"""Capped exponential backoff: how long the loader waits before reconnecting, attempt by attempt.

PostgreSQL and NATS use the same curve (docs/loader.md, "Outages"): 0.25 s, 0.5 s, 1 s, 2 s,
then every 5 s for as long as the outage lasts. It is short at first (a restart takes a second
or two) and never hammers a server that is down for longer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

INITIAL_SECONDS: Final = 0.25
CAP_SECONDS: Final = 5.0


def backoff_delay(
    attempt: int, initial: float = INITIAL_SECONDS, cap: float = CAP_SECONDS
) -> float:
    """The wait before reconnection attempt `attempt` (0 for the first retry)."""
    if attempt <= 0:
        return min(initial, cap)
    return min(initial * float(2 ** min(attempt, 32)), cap)


@dataclass
class Backoff:
    """Successive waits of one outage; `reset()` once the server answers again."""

    initial: float = INITIAL_SECONDS
    cap: float = CAP_SECONDS
    attempts: int = 0

    def next_delay(self) -> float:
        """The wait before the next attempt (and count it)."""
        delay = backoff_delay(self.attempts, self.initial, self.cap)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0
