"""The bounded reads of ``workers`` that a start makes, on SQLite and PostgreSQL: the newest runs of one host
(a page at a time), the workers of one host that hold deliveries in ``sending``, and the schema version 7
index behind the first."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect, text
from store_support import NOW, make_post

from scheduler.store import Store
from scheduler.store.migrations import current_version, latest_version
from scheduler.store.schema import schema_version, workers

LEASE = timedelta(minutes=5)
DAYS_AGO = NOW - timedelta(days=5)


def fill(store: Store, *, others: int, here: int) -> None:
    """``others`` runs of 25 other hosts, one a minute, and ``here`` runs of host ``box``, one an hour (the
    odd ones never stopped), all within the last five days."""
    made = [
        {
            "id": f"other-{n}",
            "host": f"host-{n % 25}",
            "pid": 1000 + n,
            "started_at": DAYS_AGO + n * timedelta(minutes=1),
            "heartbeat_at": DAYS_AGO + n * timedelta(minutes=1) + timedelta(seconds=10),
            "stopped_at": None,
        }
        for n in range(others)
    ]
    made += [
        {
            "id": f"box-{n:02d}",
            "host": "box",
            "pid": 100 + n,
            "started_at": DAYS_AGO + n * timedelta(hours=1),
            "heartbeat_at": DAYS_AGO + n * timedelta(hours=1) + timedelta(minutes=5),
            "stopped_at": None if n % 2 else DAYS_AGO + n * timedelta(hours=1) + timedelta(minutes=5),
        }
        for n in range(here)
    ]
    with store.engine.begin() as connection:
        connection.execute(workers.insert(), made)


def test_the_runs_of_one_host_come_newest_first_a_page_at_a_time(store: Store) -> None:
    fill(store, others=3_000, here=20)
    first = store.workers_of_host("box", limit=8)
    assert [w.id for w in first] == [f"box-{n:02d}" for n in range(19, 11, -1)]
    newest = first[0]
    assert (newest.host, newest.pid, newest.stopped_at, newest.holding) == ("box", 119, None, ())
    assert newest.started_at == DAYS_AGO + 19 * timedelta(hours=1)
    assert newest.heartbeat_at == newest.started_at + timedelta(minutes=5)
    assert first[1].stopped_at == first[1].heartbeat_at  # box-18 stopped cleanly
    last = store.workers_of_host("box", limit=8, offset=16)
    assert [w.id for w in last] == ["box-03", "box-02", "box-01", "box-00"]
    assert store.workers_of_host("box", limit=8, offset=20) == []
    assert store.workers_of_host("nowhere", limit=8) == []


def test_a_run_started_again_under_its_id_moves_to_the_front(store: Store) -> None:
    fill(store, others=10, here=3)
    store.register_worker("box-00", host="box", pid=555, now=NOW)
    assert [(w.id, w.pid) for w in store.workers_of_host("box", limit=2)] == [
        ("box-00", 555),
        ("box-02", 102),
    ]


def test_the_holders_of_a_host_are_read_from_what_is_sending(store: Store) -> None:
    fill(store, others=2_000, here=6)
    store.register_worker("other-host-holder", host="elsewhere", pid=7, now=NOW)
    for n, channel in enumerate(("a", "b", "c", "d")):
        store.upsert(make_post(f"posts/{n}.md", channel, at=NOW - timedelta(minutes=4 - n)), now=NOW)
    [first, second] = store.claim_due(NOW, worker="box-01", lease=LEASE, limit=2)
    [third] = store.claim_due(NOW, worker="box-04", lease=LEASE, limit=1)
    [fourth] = store.claim_due(NOW, worker="other-host-holder", lease=LEASE, limit=1)
    held = store.holders_on("box")
    assert [(w.id, w.pid, w.holding) for w in held] == [
        ("box-04", 104, (third.id,)),
        ("box-01", 101, (first.id, second.id)),
    ]
    assert [(w.id, w.holding) for w in store.holders_on("elsewhere")] == [("other-host-holder", (fourth.id,))]
    assert store.holders_on("nowhere") == []


def test_no_holders_when_nothing_is_sending(store: Store) -> None:
    fill(store, others=100, here=4)
    store.upsert(make_post("posts/a.md", "a", at=NOW - timedelta(minutes=1)), now=NOW)
    assert store.holders_on("box") == []


def test_version_7_indexes_the_workers_of_a_version_6_outbox_by_host(db_url: str, tmp_path: Path) -> None:
    with Store.open(db_url, root=tmp_path) as store:
        fill(store, others=30, here=3)
        with store.engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_workers_host_started"))
            connection.execute(schema_version.update().values(version=6))
    with Store.open(db_url, root=tmp_path) as store:
        with store.engine.connect() as connection:
            assert current_version(connection) == latest_version() >= 7
            indexes = {
                index["name"]: index["column_names"] for index in inspect(connection).get_indexes("workers")
            }
        assert indexes["ix_workers_host_started"] == ["host", "started_at", "id"]
        assert [w.id for w in store.workers_of_host("box", limit=8)] == ["box-02", "box-01", "box-00"]
