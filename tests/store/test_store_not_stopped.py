"""The last start of a worker not stopped (``status --check``'s stall counts from it), on SQLite and
PostgreSQL: one look-up in the schema version 9 index ``ix_workers_not_stopped``, which holds only the rows
without ``stopped_at``; a worker leaves it when it stops and comes back when it beats again. And a worker's
last heartbeat is never before its start, whatever its clock did (``status --check`` relies on it)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect, text
from store_support import NOW

from scheduler.store import Store
from scheduler.store.migrations import current_version, latest_version
from scheduler.store.schema import schema_version, workers

DAYS_AGO = NOW - timedelta(days=5)


def runs(count: int, *, crashed: tuple[int, ...] = ()) -> list[dict[str, object]]:
    """``count`` runs of 25 hosts, one a minute from five days ago, each 10 s long; only those numbered in
    ``crashed`` never stopped."""
    made = []
    for n in range(count):
        started = DAYS_AGO + n * timedelta(minutes=1)
        seen = started + timedelta(seconds=10)
        stopped = None if n in crashed else seen
        made.append(
            {"id": f"run-{n}", "host": f"host-{n % 25}", "pid": 1000 + n, "started_at": started,
             "heartbeat_at": seen, "stopped_at": stopped}
        )  # fmt: skip
    return made


def test_the_last_start_of_a_worker_not_stopped(store: Store) -> None:
    assert store.last_start_not_stopped() is None, "no worker ever registered"
    with store.engine.begin() as connection:
        connection.execute(workers.insert(), runs(300))
    assert store.last_start_not_stopped() is None, "every run stopped"
    with store.engine.begin() as connection:
        connection.execute(workers.insert(), runs(1, crashed=(0,))[0] | {"id": "killed"})
    assert store.last_start_not_stopped() == DAYS_AGO, "the oldest run, killed before it could stop"

    store.register_worker("live", host="box", pid=7, now=NOW - timedelta(hours=1))
    store.heartbeat("live", now=NOW)
    assert store.last_start_not_stopped() == NOW - timedelta(hours=1)
    store.register_worker("stopping", host="box", pid=8, now=NOW - timedelta(minutes=5))
    assert store.last_start_not_stopped() == NOW - timedelta(minutes=5)
    store.stop_worker("stopping", now=NOW)
    assert store.last_start_not_stopped() == NOW - timedelta(hours=1), "a stopped worker no longer counts"
    store.heartbeat("stopping", now=NOW + timedelta(seconds=30))  # a stopped worker beating again runs
    assert store.last_start_not_stopped() == NOW - timedelta(minutes=5)


def test_version_9_indexes_the_workers_not_stopped_of_a_version_8_outbox(db_url: str, tmp_path: Path) -> None:
    with Store.open(db_url, root=tmp_path) as store, store.engine.begin() as connection:
        connection.execute(workers.insert(), runs(40, crashed=(3, 17)))
        stepped = workers.c.id == "run-5"  # written before version 9: its clock stepped back an hour
        connection.execute(workers.update().where(stepped).values(heartbeat_at=DAYS_AGO - timedelta(hours=1)))
        connection.execute(text("DROP INDEX ix_workers_not_stopped"))
        connection.execute(schema_version.update().values(version=8))
    with Store.open(db_url, root=tmp_path) as store:
        with store.engine.connect() as connection:
            assert current_version(connection) == latest_version() >= 9
            indexes = {
                index["name"]: index["column_names"] for index in inspect(connection).get_indexes("workers")
            }
        assert indexes["ix_workers_not_stopped"] == ["started_at"]
        assert store.last_start_not_stopped() == DAYS_AGO + 17 * timedelta(minutes=1)
        by_id = {worker.id: worker for worker in store.workers()}
    assert by_id["run-5"].heartbeat_at == by_id["run-5"].started_at == DAYS_AGO + timedelta(minutes=5)
    assert by_id["run-6"].heartbeat_at == DAYS_AGO + timedelta(minutes=6, seconds=10), (
        "the others as they were"
    )


def test_a_heartbeat_is_never_recorded_before_the_workers_start(store: Store) -> None:
    """A worker whose clock steps back after its start beats at its start (and stops there), so it is among
    the workers seen since its start; a clock that goes on forward beats as it says."""
    store.register_worker("stepped", host="box", pid=7, now=NOW)
    assert store.heartbeat("stepped", now=NOW - timedelta(minutes=5))
    assert [(w.started_at, w.heartbeat_at) for w in store.workers()] == [(NOW, NOW)]
    assert [w.id for w in store.workers_seen(since=NOW)] == ["stepped"]
    assert store.heartbeat("stepped", now=NOW + timedelta(seconds=30))
    assert store.workers()[0].heartbeat_at == NOW + timedelta(seconds=30)
    store.stop_worker("stepped", now=NOW - timedelta(hours=2))
    [stopped] = store.workers()
    assert (stopped.heartbeat_at, stopped.stopped_at) == (NOW, NOW - timedelta(hours=2))
    assert not store.heartbeat("never-registered", now=NOW)
