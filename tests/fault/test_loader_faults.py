"""Fault scenarios of the loader (issue 18, section 5): kill -9 at random points, a duplicate
flood, poison and bogus events. Real NATS and PostgreSQL on loopback; each scenario ends with
every stream sequence landed or rejected exactly once (tests/support/fault.py, `reconcile`).

Sizes scale with FAULT_SCALE (docs/loader.md, "Fault suite"); `pytest -s` prints one line per
scenario: sent, faults, lost, doubled.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tests.support.fault import (
    LoaderProcess,
    checkpoint,
    fault_scale,
    ledger_reconciles,
    loader_process,
    reconcile,
    scaled,
    valid_events,
    wait_until,
)
from tests.support.ingest import loader_config, publish, rows, run_loader, scalar

pytestmark = pytest.mark.timeout(300 * fault_scale())


def event_ids(payloads: list[bytes]) -> set[str]:
    return {orjson.loads(data)["event_id"] for data in payloads}


def test_a_loader_killed_at_random_points_and_restarted_lands_every_event_once(
    database_url: str, nats_url: str, tmp_path: Path, dbt_target_path: Path
) -> None:
    """Scenario 1: SIGKILL during the load (while starting, mid-batch, between commit and
    acknowledgement), restarted each time; 20,000 events (200,000 at FAULT_SCALE=10)."""
    count = scaled(20_000)
    kills = min(6 * fault_scale(), 30)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"\nscenario 1 seed {seed}")
    events = valid_events(count, seed=11)
    report = publish(nats_url, events)
    assert report.stored == count
    marks: list[int] = []
    with loader_process(database_url, nats_url, tmp_path, "--batch-size", "1000") as loader:
        for kill in range(kills):
            loader.start()
            started = time.monotonic()
            share = count // (kills + 1)
            if rng.random() < 0.3:
                # While it starts (or just after), but never past its share of the load: a
                # fast machine must not finish the load before the last kill.
                deadline = started + rng.uniform(0.2, 1.5)
                while time.monotonic() < deadline and checkpoint(database_url) < (kill + 1) * share:
                    time.sleep(0.01)
            else:
                # After a random commit of its share of the load, plus a few milliseconds.
                target = rng.randint(kill * share + 1, (kill + 1) * share)
                wait_until(
                    f"the loader past stream sequence {target}",
                    lambda target=target: checkpoint(database_url) >= target,  # type: ignore[misc]
                    timeout=30,
                    every=0.01,
                )
                time.sleep(rng.uniform(0, 0.03))
            assert loader.alive(), loader.output()
            loader.kill()
            marks.append(checkpoint(database_url))
            print(f"  kill {kill + 1} after {time.monotonic() - started:.2f} s at mark {marks[-1]}")
    # The kills chase the load; a fast machine may finish it before the last ones, never
    # before the first (its target is within the first share).
    mid_load = [mark for mark in marks if mark < count]
    assert mid_load, "every kill came after the load: nothing was killed mid-load"
    print(f"  {len(mid_load)} of {kills} kills mid-load")
    final = LoaderProcess(
        database_url, nats_url, tmp_path, "--until-idle", "--idle-seconds", "0.5", name="final"
    )
    final.start()
    assert final.wait(timeout=120) == 0, final.output()
    reconcile(
        "loader SIGKILLed and restarted",
        database_url,
        nats_url,
        faults=kills,
        expected_event_ids=event_ids(events),
    )
    ledger_reconciles(database_url, dbt_target_path)


def interleaved_copies(events: list[bytes], copies: int, rng: random.Random) -> list[bytes]:
    """Each event `copies` times, shuffled: copies of one event far apart and close by."""
    flood = [data for data in events for _ in range(copies)]
    rng.shuffle(flood)
    return flood


def test_a_duplicate_flood_with_and_without_msg_id_lands_each_message_once(
    database_url: str, nats_url: str, dbt_target_path: Path
) -> None:
    """Scenario 4: every event published 3 times, interleaved; half with Nats-Msg-Id (the
    server drops the copies), half without (three stream messages: staging deduplicates)."""
    rng = random.Random(4)
    count = scaled(3_000)
    with_id, without_id = valid_events(count, seed=41), valid_events(count, seed=42)
    flood_with, flood_without = (
        interleaved_copies(with_id, 3, rng),
        interleaved_copies(without_id, 3, rng),
    )
    chunk = 500
    for start in range(0, len(flood_with), chunk):  # the two floods interleaved too
        publish(nats_url, flood_with[start : start + chunk])
        publish(nats_url, flood_without[start : start + chunk], with_msg_id=False)
    summary = run_loader(loader_config(database_url, nats_url))
    assert summary.rejected == 0
    outcome = reconcile(
        "duplicate flood (3x, with and without Nats-Msg-Id)",
        database_url,
        nats_url,
        faults=4 * count,
        expected_event_ids=event_ids(with_id) | event_ids(without_id),
    )
    ledger_reconciles(database_url, dbt_target_path)
    assert outcome.sent == count + 3 * count
    copies = dict(
        rows(database_url, "select event_id::text, count(*) from raw.message_charged group by 1")
    )
    assert {copies[event_id] for event_id in event_ids(with_id)} == {1}
    assert {copies[event_id] for event_id in event_ids(without_id)} == {3}


def poison(rng: random.Random, valid: bytes) -> bytes:
    """A message that breaks the contract in one of several ways."""
    event = orjson.loads(valid)
    event["event_id"] = str(uuid.uuid4())  # not a copy: the server would drop it by its id
    kind = rng.randrange(7)
    if kind == 0:
        return b"{not json" + valid[:20]
    if kind == 1:
        return b"[1, 2, 3]"
    if kind == 2:
        del event["tenant_id"]
    elif kind == 3:
        event["segments"] = 0
    elif kind == 4:
        event["event_id"] = f"not-a-uuid-{rng.randrange(1 << 40)}"
    elif kind == 5:
        event["message_id"] = "nul\u0000inside"
    else:
        event["direction"] = "sideways"
    return orjson.dumps(event)


def test_poison_and_contract_valid_bogus_events_are_kept_out_without_stopping_the_load(
    database_url: str, nats_url: str, dbt_target_path: Path
) -> None:
    """Scenario 5: 1% poison and 0.1% contract-valid bogus events (in the future, ancient, of
    an unknown tenant) in a valid stream. Poison and out-of-bounds times are rejected with
    their reason; an unknown tenant lands (it is the close's to price or exclude)."""
    rng = random.Random(5)
    count = scaled(20_000)
    stream = valid_events(count, seed=51)
    now = datetime.now(UTC)
    bogus_times = {
        "future": ["2099-01-01T00:00:00Z", (now + timedelta(hours=2)).isoformat()],
        "ancient": ["1970-01-01T00:00:00Z", (now - timedelta(days=500)).isoformat()],
    }
    poisoned = future = ancient = unknown = 0
    messages: list[bytes] = []
    for data in stream:
        messages.append(data)
        draw = rng.random()
        if draw < 0.01:
            messages.append(poison(rng, data))
            poisoned += 1
        elif draw < 0.011:
            event = orjson.loads(data)
            event["event_id"] = str(uuid.uuid4())
            kind = ("future", "ancient", "unknown tenant")[(future + ancient + unknown) % 3]
            if kind == "unknown tenant":
                event["tenant_id"] = str(uuid.uuid4())
                unknown += 1
            else:
                event["occurred_at"] = rng.choice(bogus_times[kind])
                future, ancient = future + (kind == "future"), ancient + (kind == "ancient")
            messages.append(orjson.dumps(event))
    assert min(poisoned, future, ancient, unknown) > 0
    publish(nats_url, messages)
    summary = run_loader(loader_config(database_url, nats_url))
    outcome = reconcile(
        "1% poison, 0.1% bogus (future, ancient, unknown tenant)",
        database_url,
        nats_url,
        faults=poisoned + future + ancient + unknown,
    )
    ledger_reconciles(database_url, dbt_target_path)
    assert (outcome.landed, outcome.rejected) == (count + unknown, poisoned + future + ancient)
    assert summary.rejected == outcome.rejected
    skew = "select count(*) from raw.rejected_messages where reason like %s"
    assert scalar(database_url, skew, "%BILLING_MAX_FUTURE_SKEW%") == future
    assert scalar(database_url, skew, "%BILLING_MAX_EVENT_AGE%") == ancient
    assert checkpoint(database_url) == outcome.sent
