"""Many workers on one outbox: heartbeats and holdings, once-per-period work, claims racing from threads."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from store_support import NOW, make_post

from scheduler.adapters.base import Receipt
from scheduler.store import DeliveryState, PeriodicClaim, Store
from scheduler.store.dialect import create_store_engine, writer
from scheduler.store.migrations import MIGRATIONS, current_version, latest_version
from scheduler.store.schema import deliveries, schema_version, transitions

LEASE = timedelta(minutes=5)
HOUR = timedelta(hours=1)
RECEIPT = Receipt(remote_ids=("1",), url=None, extra={})


def test_workers_register_beat_stop_and_show_what_they_hold(store: Store) -> None:
    store.register_worker("w1", host="alpha", pid=101, now=NOW)
    store.register_worker("w2", host="beta", pid=202, now=NOW)
    for n, channel in enumerate(("a", "b", "c")):
        store.upsert(make_post(f"posts/{n}.md", channel, at=NOW - timedelta(minutes=3 - n)), now=NOW)
    first = store.claim_due(NOW, worker="w1", lease=LEASE, limit=2)
    [third] = store.claim_due(NOW, worker="w2", lease=LEASE, limit=2)
    later = NOW + timedelta(seconds=30)
    assert store.heartbeat("w1", now=later) is True
    assert store.heartbeat("nobody", now=later) is False
    seen = {w.id: w for w in store.workers()}
    assert (seen["w1"].host, seen["w1"].pid, seen["w1"].started_at) == ("alpha", 101, NOW)
    assert seen["w1"].holding == tuple(d.id for d in first)
    assert seen["w2"].holding == (third.id,)
    assert [w.id for w in store.workers()] == ["w1", "w2"]  # the freshest heartbeat first
    assert [w.id for w in store.workers(since=NOW + timedelta(seconds=1))] == ["w1"]
    assert seen["w1"].alive(later, timedelta(seconds=10))
    assert not seen["w2"].alive(later, timedelta(seconds=10))

    store.mark_sent(third.id, RECEIPT, now=later)
    store.stop_worker("w2", now=later)
    w2 = {w.id: w for w in store.workers()}["w2"]
    assert (w2.stopped_at, w2.holding) == (later, ())
    assert not w2.alive(later, timedelta(hours=1))
    # pruning forgets silent workers, but never one that still holds deliveries
    assert store.prune_workers(before=later + timedelta(seconds=1)) == 1
    assert [w.id for w in store.workers()] == ["w1"]
    store.register_worker("w1", host="alpha", pid=102, now=later)  # a restart under the same id
    assert {w.id: w.pid for w in store.workers()} == {"w1": 102}


def run(store: Store, name: str, worker: str, at: datetime, period: timedelta = HOUR) -> PeriodicClaim | None:
    return store.try_periodic(name, worker=worker, period=period, now=at, hold=timedelta(minutes=5))


def test_the_leases_of_dead_workers_end_now_and_their_deliveries_are_taken_over(store: Store) -> None:
    for n, channel in enumerate(("a", "b", "c")):
        store.upsert(make_post(f"posts/{n}.md", channel, at=NOW - timedelta(minutes=3 - n)), now=NOW)
    [dead_a, dead_b] = store.claim_due(NOW, worker="dead", lease=LEASE, limit=2)
    [alive] = store.claim_due(NOW, worker="alive", lease=LEASE, limit=1)
    store.mark_sent(dead_b.id, RECEIPT, now=NOW)
    later = NOW + timedelta(seconds=10)
    assert store.claim_stale(later, worker="w", lease=LEASE) == []  # their leases run for minutes
    assert store.end_leases_of(["dead", "nobody"], now=later) == 1  # the sent one holds no lease
    assert store.end_leases_of([], now=later) == 0
    taken = store.claim_stale(later, worker="w", lease=LEASE)
    assert [d.id for d in taken] == [dead_a.id]
    assert store.get(alive.id).claimed_by == "alive" and store.get(alive.id).lease_until == NOW + LEASE


def test_periodic_work_runs_once_per_period_across_workers(store: Store) -> None:
    claim = run(store, "cleanup", "w1", NOW)
    assert claim is not None and claim.previous_run is None
    assert run(store, "cleanup", "w2", NOW) is None  # running elsewhere
    assert run(store, "feeds", "w2", NOW) is not None  # another job is independent
    store.end_periodic(claim, now=NOW + timedelta(seconds=5))
    assert run(store, "cleanup", "w2", NOW + timedelta(minutes=59)) is None  # ran less than a period ago
    again = run(store, "cleanup", "w2", NOW + HOUR)
    assert again is not None and again.previous_run == NOW
    store.end_periodic(again, now=NOW + HOUR, done=False)  # it failed: the next look runs it again
    retried = run(store, "cleanup", "w1", NOW + HOUR + timedelta(seconds=10))
    assert retried is not None and retried.previous_run == NOW
    store.end_periodic(retried, now=NOW + HOUR + timedelta(seconds=10))


def test_a_crashed_periodic_run_does_not_block_the_work_forever(store: Store) -> None:
    crashed = run(store, "cleanup", "w1", NOW, period=timedelta(minutes=1))
    assert crashed is not None
    if crashed.lock is not None:  # PostgreSQL: the worker's connection dies, the server drops its lock
        crashed.lock.invalidate()
        crashed.lock.close()
    assert run(store, "cleanup", "w2", NOW + timedelta(seconds=30), period=timedelta(minutes=1)) is None
    # SQLite: the claim lapses after its hold (5 minutes); PostgreSQL: as soon as the period is over
    later = NOW + (timedelta(minutes=1) if crashed.lock is not None else timedelta(minutes=5, seconds=1))
    taken = run(store, "cleanup", "w2", later, period=timedelta(minutes=1))
    assert taken is not None
    store.end_periodic(taken, now=later)


def racing(count: int, job: Callable[[int], None]) -> None:
    """Run ``job(n)`` on ``count`` threads released together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(n: int) -> None:
        try:
            barrier.wait(timeout=60)
            job(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors


def test_only_one_of_many_racing_workers_gets_a_periodic_run(db_url: str, tmp_path: Path) -> None:
    stores = [Store.open(db_url, root=tmp_path) for _ in range(4)]
    winners: list[str] = []
    try:

        def job(n: int) -> None:
            claim = run(stores[n], "cleanup", f"w{n}", NOW)
            if claim is not None:
                winners.append(claim.worker)
                stores[n].end_periodic(claim, now=NOW)

        racing(len(stores), job)
    finally:
        for opened in stores:
            opened.close()
    assert len(winners) == 1


def test_racing_claimers_never_hold_two_deliveries_of_one_channel(db_url: str, tmp_path: Path) -> None:
    rows, channels = 120, 4
    past = datetime.now(UTC) - HOUR
    with Store.open(db_url, root=tmp_path) as store:
        for n in range(rows):
            store.upsert(
                make_post(f"posts/{n:03}.md", f"ch{n % channels}", at=past + timedelta(seconds=n)), now=past
            )
    stores = [Store.open(db_url, root=tmp_path) for _ in range(4)]
    claimed: dict[str, list[str]] = defaultdict(list)
    settled = threading.Condition()
    settles = [0]  # deliveries settled so far, by every claimer

    def job(n: int) -> None:
        store, worker = stores[n], f"w{n}"
        while True:
            with settled:
                seen = settles[0]
            batch = store.claim_due(datetime.now(UTC), worker=worker, lease=LEASE, limit=2)
            for delivery in batch:
                claimed[worker].append(delivery.id)
                store.mark_sent(delivery.id, RECEIPT, now=datetime.now(UTC))
                with settled:
                    settles[0] += 1
                    settled.notify_all()
            if not batch:
                if not store.list(states=[DeliveryState.PLANNED], limit=1):
                    return
                with settled:  # the others hold the channels left: wait until one settles a delivery
                    assert settled.wait_for(lambda seen=seen: settles[0] != seen, timeout=60), (
                        f"{worker}: no progress"
                    )

    try:
        racing(len(stores), job)
        every = [delivery_id for ids in claimed.values() for delivery_id in ids]
        assert sorted(every) == sorted(set(every)) and len(every) == rows
        query = (
            select(deliveries.c.channel, transitions.c.to_state, deliveries.c.scheduled_at)
            .join(deliveries, deliveries.c.id == transitions.c.delivery_id)
            .where(transitions.c.from_state.is_not(None))
            .order_by(transitions.c.id)
        )
        with stores[0].engine.connect() as connection:
            events = connection.execute(query).all()
    finally:
        for opened in stores:
            opened.close()
    per_channel: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for channel, to_state, scheduled_at in events:
        per_channel[channel].append((to_state, scheduled_at))
    for steps in per_channel.values():  # claim, sent, claim, sent ... in slot order
        assert [state for state, _ in steps] == ["sending", "sent"] * (rows // channels)
        slots = [at for state, at in steps if state == "sending"]
        assert slots == sorted(slots)


def test_a_version_1_database_gains_the_worker_tables(db_url: str, tmp_path: Path) -> None:
    engine = create_store_engine(db_url, tmp_path)
    try:
        with writer(engine).begin() as connection:  # what tagcast before schema version 2 created
            MIGRATIONS[1](connection)
            connection.execute(schema_version.insert().values(id=1, version=1, applied_at=NOW))
            assert not inspect(connection).has_table("workers")
    finally:
        engine.dispose()
    with Store.open(db_url, root=tmp_path) as store:
        with store.engine.connect() as connection:
            assert current_version(connection) == latest_version() >= 2
            assert {"workers", "periodic_runs"} <= set(inspect(connection).get_table_names())
        store.register_worker("w1", host="h", pid=1, now=NOW)
        assert [w.id for w in store.workers()] == ["w1"]


@pytest.mark.parametrize("count", [3])
def test_workers_starting_together_on_a_new_database_migrate_once(
    db_url: str, tmp_path: Path, count: int
) -> None:
    opened: list[Store] = []
    lock = threading.Lock()

    def job(_n: int) -> None:
        store = Store.open(db_url, root=tmp_path)
        with lock:
            opened.append(store)

    try:
        racing(count, job)
        with opened[0].engine.connect() as connection:
            assert current_version(connection) == latest_version()
    finally:
        for store in opened:
            store.close()
